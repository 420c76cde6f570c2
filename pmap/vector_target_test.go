//go:build tamago

package pmap

import (
	"testing"

	"github.com/usbarmory/tamago/arm"
)

// schedCheck is a fault handler that reads the interrupted goroutine's
// saved context as dataabort_arm.s reads and writes it (schedOf), and
// skips the faulting load.
type schedCheck struct {
	n              int
	g0             uint32 // the g running the handler
	sp, pc, lr, gp uint32 // schedOf the interrupted g
	fg             uint32 // the interrupted g, from the frame's R10
	frameSP        uint32 // the interrupted SP_usr
	framePC        uint32 // the faulting PC, from the frame
	onG0           bool   // as the handler was told
}

func (c *schedCheck) record() {
	c.n++
	c.frameSP = ReadSPusr()
	frame := (*[frameWords]uint32)(physPtr(c.frameSP - frameWords*4))
	c.fg, c.framePC = frame[10], frame[13]
	c.g0 = currentG()
	c.sp, c.pc, c.lr, c.gp = schedOf(c.fg)
	SkipFaultingInstruction()
}

func (c *schedCheck) HandleFault(f *Fault, onG0 bool) Resolution {
	c.record()
	c.onG0 = onG0
	return Retry
}

func (c *schedCheck) check(t *testing.T, g uint32) {
	t.Helper()
	g0, ok := g0Of()
	if !ok {
		t.Fatal("g0Of: the runtime's layout is not the one the vector reads")
	}
	if c.n != 1 {
		t.Fatalf("%d aborts, want 1", c.n)
	}
	if c.g0 != g0 || c.fg != g {
		t.Fatalf("handler ran on g %#x, interrupted g %#x; want g0 %#x and the test's g %#x", c.g0, c.fg, g0, g)
	}
	if c.sp != c.frameSP || c.pc != c.framePC || c.lr != c.framePC || c.gp != g {
		t.Fatalf("sched of the interrupted g: sp %#x pc %#x lr %#x g %#x; want sp %#x, pc and lr %#x, g %#x",
			c.sp, c.pc, c.lr, c.gp, c.frameSP, c.framePC, g)
	}
	if sp, _, _, _ := schedOf(g); sp != 0 {
		t.Fatalf("sched.sp of the running g is %#x after the abort, want 0", sp)
	}
}

// TestRuntimeLayoutMatchesCallOnG0 takes an abort through TamaGo's own
// vector (runtime.CallOnG0): the interrupted g's saved context, read at
// the offsets dataabort_arm.s uses, is what CallOnG0 wrote there, and the
// handler runs on the g0 that g0Of finds.
func TestRuntimeLayoutMatchesCallOnG0(t *testing.T) {
	newTargetEnv(t)
	slot := (*uint32)(physPtr(readVBAR() + vectorAddrs + arm.DATA_ABORT))
	hooks := *slot
	*slot, _ = tamagoAbortVectors()
	defer func() { *slot = hooks }()
	var c schedCheck
	prev := arm.SystemExceptionHandler
	arm.SystemExceptionHandler = func(off int) { c.record() }
	defer func() { arm.SystemExceptionHandler = prev }()
	probeLoad(targetWindow)
	arm.SystemExceptionHandler = prev
	c.check(t, currentG())
}

// TestAbortVectorSwitchesToG0 takes an abort through the hook's own data
// abort vector: the handler runs on g0, the interrupted g's saved context
// is what CallOnG0 would have written, and it is cleared on return.
func TestAbortVectorSwitchesToG0(t *testing.T) {
	e := newTargetEnv(t)
	var c schedCheck
	e.d.Register(&c)
	probeLoad(targetWindow)
	c.check(t, currentG())
	if c.onG0 {
		t.Fatal("a goroutine with room on its stack was told it cannot yield (onG0)")
	}
}

// TestAbortOnG0RunsTheHandlerInPlace takes an abort through the hook's
// vector from a goroutine the vector takes for g0 (abortHook.g0 is set
// to it for the test): there is no switch, the handler runs below the
// frame on the interrupted stack, with onG0 set, and the load is retried
// past with every register back.
func TestAbortOnG0RunsTheHandlerInPlace(t *testing.T) {
	e := newTargetEnv(t)
	var c schedCheck
	e.d.Register(&c)
	g := currentG()
	g0 := abortHook.g0
	abortHook.g0 = g
	v := probeLoad(targetWindow)
	abortHook.g0 = g0
	if c.n != 1 || !c.onG0 {
		t.Fatalf("%d aborts, onG0 %v; want 1 abort, told it cannot yield", c.n, c.onG0)
	}
	if c.g0 != g || c.fg != g {
		t.Fatalf("handler ran on g %#x for interrupted g %#x, want both %#x (no switch)", c.g0, c.fg, g)
	}
	if v != 0xdeadbeef {
		t.Fatalf("skipped load returned %#x, want 0xdeadbeef (r0 as before the load)", v)
	}
	if e.d.Counts[Retry] != 1 {
		t.Fatalf("Counts %v, want one Retry", e.d.Counts)
	}
}
