//go:build !tamago

package pmap

import (
	"debug/elf"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tamach/tamach/internal/targettest"
)

// TestTargetUnhandledFaultIsReported boots a program whose write nobody
// resolves and checks the report: the address, access and kind, the
// faulting function, the instruction at the reported PC disassembled as
// armasm decodes the same bytes of the ELF, the registers, and the exit
// status.
func TestTargetUnhandledFaultIsReported(t *testing.T) {
	g := targettest.Build(t, "./pmap/testdata/unhandled", false)
	code, out, _ := g.Run(t)
	if code != ExitUnhandledFault {
		t.Fatalf("exit status %d, want %d:\n%s", code, ExitUnhandledFault, out)
	}
	if strings.Contains(out, "the write went through") {
		t.Fatalf("the program went on after the fault:\n%s", out)
	}
	for _, want := range []string{
		"tamach: unhandled data abort: write at 0x00000008: translation fault",
		"in main.poke+",
		"r0  ", "r12 ", "sp  ", "cpsr",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`pc  (0x[0-9a-f]+) in [^:]+\([^)]*\): (.*)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no pc line in the report:\n%s", out)
	}
	pc, _ := strconv.ParseUint(m[1], 0, 32)
	f, err := elf.Open(g.Image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	text := f.Section(".text")
	b := make([]byte, 4)
	if _, err := text.ReadAt(b, int64(pc-text.Addr)); err != nil {
		t.Fatalf("reading the instruction at %#x: %v", pc, err)
	}
	want := Disassemble(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24, 0x1f)
	if strings.TrimSpace(m[2]) != want || !strings.HasPrefix(want, "str") {
		t.Errorf("report shows %q at %#x, the image holds %q (a store)", m[2], pc, want)
	}
	if os.Getenv("TAMACH_VERBOSE") != "" {
		t.Log(out)
	}
}
