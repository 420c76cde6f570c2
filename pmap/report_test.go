package pmap

import (
	"strings"
	"testing"
)

func TestDisassembleFaultingInstructions(t *testing.T) {
	cases := []struct {
		word uint32
		want string
	}{
		{0xe5801000, "str r1, [r0]"},
		{0xe5910004, "ldr r0, [r1, #4]"},
		{0xe8bd8010, "pop {r4, pc}"},
	}
	for _, c := range cases {
		if got := Disassemble(c.word, 0x1f); got != c.want {
			t.Errorf("Disassemble(%#x) = %q, want %q", c.word, got, c.want)
		}
	}
	if got := Disassemble(0xe5801000, 0x3f); !strings.Contains(got, "Thumb") {
		t.Errorf("Thumb state: %q", got)
	}
}

func TestReportNamesFaultInstructionAndRegisters(t *testing.T) {
	f := DecodeData(1<<11|FSTranslationPage, 0xc0001234)
	regs := Registers{PC: 0x80012340, SP: 0x82000000, LR: 0x80012000, CPSR: 0x6000001f}
	for i := range regs.R {
		regs.R[i] = uint32(0x100 + i)
	}
	var b strings.Builder
	WriteReport(&b, &f, &regs, 0xe5801000, true, func(pc uint32) string { return "main.poke+0x24" })
	out := b.String()
	for _, want := range []string{
		"unhandled data abort", "write at 0xc0001234", "translation fault, level 2",
		"pc  0x80012340 in main.poke+0x24: str r1, [r0]",
		"r0  0x00000100", "r12 0x0000010c", "FS 0b00111", "sp  0x82000000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestReportOfPrefetchAbortWithoutInstruction(t *testing.T) {
	f := DecodePrefetch(FSTranslationSection, 0xd0000000)
	regs := Registers{PC: 0xd0000000, CPSR: 0x1f}
	var b strings.Builder
	WriteReport(&b, &f, &regs, 0, false, nil)
	out := b.String()
	for _, want := range []string{"prefetch abort", "execute at 0xd0000000", "level 1", "IFSR", "instruction not readable"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
