//go:build !tamago

package vm

import (
	"strings"
	"testing"

	"github.com/tamach/tamach/internal/targettest"
)

// TestTargetPanicInFaultSafePagerStopsTheProgram boots a program whose
// mo.FaultSafe pager panics in data_request, called inline by the fault
// handler on the system stack (recover.go: not recovered there): the
// program stops with the runtime's report, naming the panic and the
// pager's call from HandleFault, and a non-zero exit status; the access
// does not go on.
func TestTargetPanicInFaultSafePagerStopsTheProgram(t *testing.T) {
	g := targettest.Build(t, "./vm/testdata/faultsafepanic", false)
	code, out, _ := g.Run(t)
	if code == 0 {
		t.Fatalf("exit status 0, want the runtime's failure:\n%s", out)
	}
	if !strings.Contains(out, "faultsafepanic: touching the page") {
		t.Fatalf("the program did not reach the access:\n%s", out)
	}
	if strings.Contains(out, "the access went on") {
		t.Fatalf("the program went on after the pager's panic:\n%s", out)
	}
	for _, want := range []string{
		"panic: faultsafepanic: the fault-safe pager panics in data_request",
		"fatal error: panic on system stack",
		"main.panicking.DataRequest(",
		"vm.(*Kernel).HandleFault(",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q (exit status %d):\n%s", want, code, out)
		}
	}
}
