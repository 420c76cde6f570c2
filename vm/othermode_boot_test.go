//go:build !tamago

package vm

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tamach/tamach/internal/targettest"
	"github.com/tamach/tamach/pmap"
)

// TestTargetAbortInAnotherModeStopsTheProgramWithAReport boots a program
// that takes an abort on a mapped page that is not resident, in an
// exception mode the abort hook does not serve: a load in Supervisor,
// IRQ, FIQ or Monitor mode (switched to from a goroutine; the report's
// r8, sp and lr are the mode's own: R8_fiq in FIQ mode, each mode's
// banked SP and LR), a load by an
// undefined-instruction handler (Undefined mode, on g0), and a branch in
// Supervisor mode (a prefetch abort). Each must stop the program with
// pmap's fault report, whose first line names the mode and the address,
// and exit status pmap.ExitUnhandledFault; never the fault handler
// serving it, a return into the interrupted code, the runtime's
// "morestack on g0", or a hang.
func TestTargetAbortInAnotherModeStopsTheProgramWithAReport(t *testing.T) {
	g := targettest.Build(t, "./vm/testdata/othermode", false)
	for _, c := range []struct {
		how, mode, reached, access, pc string
	}{
		{"svc", "Supervisor", "loading", "read", "in main.loadInMode+"},
		{"irq", "IRQ", "loading", "read", "in main.loadInMode+"},
		{"fiq", "FIQ", "loading", "read", "in main.loadInMode+"},
		{"mon", "Monitor", "loading", "read", "in main.loadInMode+"},
		{"und", "Undefined", "loading", "read", "in main.undefinedHandler+"},
		{"prefetch", "Supervisor", "branching to", "execute", ""},
	} {
		t.Run(c.how, func(t *testing.T) {
			code, out, _ := g.Run(t, c.how)
			var addr uint32
			i := strings.Index(out, "othermode: "+c.reached+" ")
			if i < 0 {
				t.Fatalf("the program did not reach the access (exit status %d):\n%s", code, out)
			}
			if _, err := fmt.Sscanf(out[i+len("othermode: "+c.reached+" "):], "%v", &addr); err != nil {
				t.Fatalf("reading the address: %v\n%s", err, out)
			}
			if code != pmap.ExitUnhandledFault {
				t.Errorf("exit status %d, want %d", code, pmap.ExitUnhandledFault)
			}
			for _, bad := range []string{"went on", "morestack", "fatal error", "panic"} {
				if strings.Contains(out, bad) {
					t.Errorf("the output has %q", bad)
				}
			}
			kind := "data abort"
			if c.access == "execute" {
				kind = "prefetch abort"
			}
			want := []string{
				fmt.Sprintf("tamach: abort in %s mode (cpsr.M %#x): %s at %#08x (pc ", c.mode, modeBits[c.mode], c.access, addr),
				"the abort hook serves aborts taken in System and User mode only",
				fmt.Sprintf("unhandled %s: %s at %#08x: translation fault", kind, c.access, addr),
				"sp and lr are " + c.mode + " mode's",
			}
			if c.pc != "" {
				want = append(want, c.pc)
			}
			if strings.HasSuffix(c.pc, "loadInMode+") {
				// R8, SP and LR as that mode had them (FIQ mode's own
				// R8_fiq; each mode's banked SP and LR), which
				// loadInMode sets there.
				m := 0xc0 | modeBits[c.mode]
				want = append(want, "r8  0x8f1a8f1a", fmt.Sprintf("sp  %#08x  lr  %#08x", 0x5a5a0000|m, 0xa5a50000|m))
			}
			if c.access == "execute" {
				want = append(want, fmt.Sprintf("pc  %#08x: instruction not readable", addr))
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("the report lacks %q", w)
				}
			}
			if t.Failed() || os.Getenv("TAMACH_VERBOSE") != "" {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// modeBits is CPSR.M of the modes the test names.
var modeBits = map[string]uint32{"Supervisor": 0x13, "IRQ": 0x12, "FIQ": 0x11, "Monitor": 0x16, "Undefined": 0x1b}
