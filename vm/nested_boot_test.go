//go:build !tamago

package vm

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tamach/tamach/internal/targettest"
	"github.com/tamach/tamach/pmap"
)

// TestTargetNestedFaultOnG0StopsTheProgramWithAReport boots a program
// whose mo.FaultSafe pager, called inline by the abort hook (abort mode,
// g0), touches another missing page of its own object in data_request: a
// nested abort. It is not handed to the fault handler (the exception has
// overwritten the outer abort's way back, so neither fault can go on):
// the program stops with pmap's fault report naming both addresses and
// where each access was made, and exit status pmap.ExitUnhandledFault;
// never the runtime's "morestack on g0", never a hang.
func TestTargetNestedFaultOnG0StopsTheProgramWithAReport(t *testing.T) {
	g := targettest.Build(t, "./vm/testdata/nestedfault", false)
	code, out, _ := g.Run(t)
	var outer, nested uint32
	i := strings.Index(out, "nestedfault: touching ")
	if i < 0 {
		t.Fatalf("the program did not reach the access (exit status %d):\n%s", code, out)
	}
	if _, err := fmt.Sscanf(out[i:], "nestedfault: touching %v (the pager touches %v)", &outer, &nested); err != nil {
		t.Fatalf("reading the addresses: %v\n%s", err, out)
	}
	if code != pmap.ExitUnhandledFault {
		t.Errorf("exit status %d, want %d", code, pmap.ExitUnhandledFault)
	}
	for _, bad := range []string{"went on", "morestack", "fatal error"} {
		if strings.Contains(out, bad) {
			t.Errorf("the output has %q", bad)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("tamach: nested abort: read at %#08x (pc ", nested),
		"in main.(*touching).DataRequest+",
		fmt.Sprintf("inside the abort handler, while it served the read at %#08x (pc ", outer),
		"in main.main+",
		fmt.Sprintf("unhandled data abort: read at %#08x: translation fault", nested),
		fmt.Sprintf("unhandled data abort: read at %#08x: translation fault", outer),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
