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

func TestNestedReportNamesBothFaults(t *testing.T) {
	nested := DecodeData(FSTranslationSection, 0xc0001007)
	outer := DecodeData(1<<11|FSTranslationPage, 0xc0000005)
	regs := Registers{PC: 0x80104ba8, SP: 0x8bfffd6c, CPSR: 0x200001d7}
	oregs := Registers{PC: 0x80105078, SP: 0x82453e6c, LR: 0x80105044}
	syms := map[uint32]string{0x80104ba8: "main.pager.DataRequest+0x7c", 0x80105078: "main.main+0x3bc"}
	var b strings.Builder
	WriteNestedReport(&b, &nested, &regs, 0xe7d1000b, true, &outer, &oregs, 0xe5801000, true,
		func(pc uint32) string { return syms[pc] })
	out := b.String()
	first, _, _ := strings.Cut(out, "\n")
	for _, want := range []string{
		"nested abort: read at 0xc0001007 (pc 0x80104ba8 in main.pager.DataRequest+0x7c) inside the abort handler",
		"while it served the write at 0xc0000005 (pc 0x80105078 in main.main+0x3bc)",
		"neither can be resumed",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first line lacks %q:\n%s", want, out)
		}
	}
	nestedAt := strings.Index(out, "unhandled data abort: read at 0xc0001007: translation fault, level 1")
	outerAt := strings.Index(out, "unhandled data abort: write at 0xc0000005: translation fault, level 2")
	if nestedAt < 0 || outerAt < nestedAt {
		t.Errorf("want the nested fault's report, then the outer's:\n%s", out)
	}
	for _, want := range []string{"ldrb r0, [r1, fp]", "str r1, [r0]", "sp  0x82453e6c  lr  0x80105044"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestModeNames(t *testing.T) {
	for m, want := range map[uint32]string{
		0x10: "User", 0x11: "FIQ", 0x12: "IRQ", 0x13: "Supervisor", 0x16: "Monitor",
		0x17: "Abort", 0x1a: "Hyp", 0x1b: "Undefined", 0x1f: "System", 0x600001d3: "Supervisor",
		0x14: "reserved (0x14)", 0: "reserved (0x0)",
	} {
		if got := ModeName(m); got != want {
			t.Errorf("ModeName(%#x) = %q, want %q", m, got, want)
		}
	}
}

func TestOtherModeReportNamesTheMode(t *testing.T) {
	f := DecodeData(FSTranslationPage, 0xc0000005)
	regs := Registers{PC: 0x80104ba8, SP: 0x8000c000, LR: 0x80105044, CPSR: 0x600001d3}
	regs.R[0] = 0xc0000005
	var b strings.Builder
	WriteOtherModeReport(&b, &f, &regs, 0xe5901000, true,
		func(pc uint32) string { return map[uint32]string{0x80104ba8: "main.loadInSupervisorMode+0xc"}[pc] })
	out := b.String()
	first, _, _ := strings.Cut(out, "\n")
	for _, want := range []string{
		"abort in Supervisor mode (cpsr.M 0x13): read at 0xc0000005 (pc 0x80104ba8 in main.loadInSupervisorMode+0xc)",
		"serves aborts taken in System and User mode only",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first line lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{
		"sp and lr are Supervisor mode's",
		"unhandled data abort: read at 0xc0000005: translation fault, level 2",
		"ldr r1, [r0]", "r0  0xc0000005", "sp  0x8000c000  lr  0x80105044  cpsr 0x600001d3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
