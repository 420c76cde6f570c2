//go:build tamago

package pmap

import "testing"

// userModeRecorder records an abort with the mode it was taken in and
// returns from it in System mode: past the faulting load for a data
// abort, to the instruction again for a prefetch abort.
type userModeRecorder struct {
	n    int
	last Fault
	mode uint32 // SPSR_abt.M: the mode the abort was taken in
}

func (r *userModeRecorder) HandleFault(f *Fault, onG0 bool) Resolution {
	r.n++
	r.last = *f
	r.mode = readSPSR() & 0x1f
	if f.Access != Execute {
		SkipFaultingInstruction()
	}
	returnToSystemMode()
	return Retry
}

// TestTargetUserModeAbortsReachTheHandler: aborts taken in User mode go
// on to the handler, as from System mode (the entries' check sends only
// other exception modes elsewhere): a load from a page that is not
// mapped, made from User mode on a code page of the window that PL0 may
// execute (its descriptor's AP[1] set for the test), and the fetch of an
// instruction that PL0 may not execute. The code switches to User mode
// with msr; the handler returns in System mode, where the code puts the
// caller's mode and masks back.
func TestTargetUserModeAbortsReachTheHandler(t *testing.T) {
	e := newTargetEnv(t)
	rec := &userModeRecorder{}
	e.d.Register(rec)
	code := targetFramesPA + 0x7000
	va := targetWindow + 0x3000
	missing := targetWindow + 0x5000
	if err := e.p.Enter(va, code, ProtRead|ProtExec, MemNormal, Page4K, Accessed); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		op     uint32 // the instruction run in User mode
		pl0    bool   // PL0 may execute the page
		access Access
		kind   FaultKind
		addr   uint32
		ret    uint32
	}{
		{"load", 0xe5910000, true, Read, KindTranslation, missing, 0},       // ldr r0, [r1]
		{"fetch", 0xe3a00055, false, Execute, KindPermission, va + 8, 0x55}, // mov r0, #0x55
	} {
		*word(code) = 0xe10f2000      // mrs r2, CPSR
		*word(code + 4) = 0xe321f0d0  // msr CPSR_c, #0xd0: User mode
		*word(code + 8) = c.op        // in User mode: the abort
		*word(code + 12) = 0xe121f002 // msr CPSR_c, r2: in System mode again
		*word(code + 16) = 0xe12fff1e // bx lr
		SyncInstructions(code, 20, DCacheLineSize())
		s, i, ok := e.p.entry(va)
		if !ok {
			t.Fatal("the code page is not mapped")
		}
		desc := &s.hw[i]
		if c.pl0 {
			*desc |= 1 << 5 // AP[1]: PL0 may read (AP[2] set: read-only)
		} else {
			*desc &^= 1 << 5
		}
		syncChangedEntry(s.pa+i*4, va)
		before := rec.n
		got := probeExecWith(va, missing)
		*desc &^= 1 << 5
		syncChangedEntry(s.pa+i*4, va)
		switch {
		case rec.n != before+1:
			t.Fatalf("%s: %d aborts, want 1", c.name, rec.n-before)
		case rec.mode != 0x10:
			t.Fatalf("%s: abort taken in mode %#x, want User (0x10)", c.name, rec.mode)
		case rec.last.Access != c.access || rec.last.Kind != c.kind || rec.last.Addr != c.addr:
			t.Fatalf("%s: %v %v fault at %#x, want %v %v at %#x", c.name, rec.last.Access, rec.last.Kind, rec.last.Addr, c.access, c.kind, c.addr)
		case got != c.ret:
			t.Fatalf("%s: the code returned %#x, want %#x", c.name, got, c.ret)
		case cpsrMode() != 0x1f:
			t.Fatalf("%s: back in mode %#x, want System", c.name, cpsrMode())
		}
	}
}
