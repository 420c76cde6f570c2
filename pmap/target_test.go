//go:build tamago

package pmap

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/tamach/tamach/board/qemu"
)

// On-target tests: the live MMU of QEMU's Cortex-A7 is the oracle that the
// tables pmap writes, and the software walk over them, must agree with.

const (
	targetWindowMiB = 2
	targetTables    = 16
)

var (
	targetWindow = qemu.Layout.Window.Start
	// L2 tables at the start of the frame pool, data frames 1 MiB on.
	targetTablesPA = qemu.Layout.FramePool.Start
	targetFramesPA = qemu.Layout.FramePool.Start + 1<<20
)

type targetEnv struct {
	p    *Pmap
	pool *TablePool
	walk *Walker
	d    Dispatcher
}

func newTargetEnv(t testing.TB) *targetEnv {
	t.Helper()
	EnableAccessFlag()
	pool, err := NewTablePool(targetTablesPA, targetTables)
	if err != nil {
		t.Fatal(err)
	}
	mem := NewIdentity()
	p, err := New(Config{
		Base: targetWindow, Size: targetWindowMiB << 20,
		Phys: []Range{{qemu.Layout.FramePool.Start, qemu.Layout.FramePool.Size}},
		Mem:  mem, Alloc: pool, MMU: Hardware{},
		CacheLine: DCacheLineSize(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &targetEnv{p: p, pool: pool, walk: &Walker{Mem: mem, DACR: ReadDACR(), AFE: ReadSCTLR()&(1<<29) != 0}}
	uninstall := InstallAbortHook(&e.d)
	t.Cleanup(func() {
		uninstall()
		p.Destroy()
	})
	return e
}

// recorder is a fault handler that records each abort and skips the
// faulting instruction; with upgrade set, it first lets the Pmap resolve
// access-flag and write-upgrade faults, as vm will.
type recorder struct {
	p       *Pmap
	upgrade bool
	faults  int
	last    Fault
}

func (r *recorder) HandleFault(f *Fault, onG0 bool) Resolution {
	if r.upgrade && r.p.Upgrade(f) != 0 {
		return Retry
	}
	r.faults++
	r.last = *f
	SkipFaultingInstruction()
	return Retry
}

func word(pa uint32) *uint32 { return (*uint32)(physPtr(pa)) }

// TestTargetWalkAgreesWithMMU applies random Enter, Remove, Protect and
// Clear sequences to a Pmap of the live MMU and, after each step, makes a
// real load and a real store at every page of the window: each succeeds
// with the expected data exactly when the software walk of the live tables
// says so, and otherwise aborts with exactly the fault it predicts.
func TestTargetWalkAgreesWithMMU(t *testing.T) {
	e := newTargetEnv(t)
	rec := &recorder{p: e.p}
	e.d.Register(rec)
	const pages = targetWindowMiB << 8
	const frames = 1024
	r := rand.New(rand.NewPCG(7, 11))
	randVA := func() uint32 { return targetWindow + uint32(r.IntN(pages))<<12 }
	steps := 60
	checked, faulted := 0, 0
	for step := 0; step < steps; step++ {
		switch r.IntN(6) {
		case 0, 1, 2:
			size, va, pa := Page4K, randVA(), targetFramesPA+uint32(r.IntN(frames))<<12
			if r.IntN(3) == 0 {
				size, va, pa = Page64K, va&^0xffff, pa&^0xffff
			}
			e.p.Enter(va, pa, Prot(1+r.IntN(7)), MemNormal, size, EnterFlags(r.IntN(8)))
		case 3:
			a := randVA()
			e.p.Remove(a, a+uint32(1+r.IntN(32))<<12)
		case 4:
			a := randVA()
			e.p.Protect(a, a+uint32(1+r.IntN(32))<<12, Prot(r.IntN(8)))
		case 5:
			va := randVA()
			e.p.ClearReferenced(va)
			e.p.ClearModified(va)
		}
		if err := e.p.CheckInvariants(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for i := uint32(0); i < pages; i++ {
			va := targetWindow + i<<12 + uint32(r.IntN(1024))*4
			for _, acc := range []Access{Read, Write} {
				tr, want, ok := e.walk.Walk(va, acc)
				before := rec.faults
				v := uint32(step)<<20 ^ va
				var got uint32
				if acc == Read {
					got = probeLoad(va)
				} else {
					probeStore(va, v)
				}
				faultedNow := rec.faults != before
				switch {
				case ok && faultedNow:
					t.Fatalf("step %d: %v %#x faulted (%+v), the walk says pa %#x", step, acc, va, rec.last, tr.PA)
				case !ok && !faultedNow:
					t.Fatalf("step %d: %v %#x succeeded, the walk predicts %v fault FS %05b", step, acc, va, want.Kind, want.FS())
				case !ok && !rec.last.Same(&want):
					t.Fatalf("step %d: %v %#x: MMU fault %+v (FS %05b), walk predicts %+v (FS %05b)", step, acc, va, rec.last, rec.last.FS(), want, want.FS())
				case ok && acc == Read && got != *word(tr.PA):
					t.Fatalf("step %d: load %#x = %#x, frame %#x holds %#x", step, va, got, tr.PA, *word(tr.PA))
				case ok && acc == Write && *word(tr.PA) != v:
					t.Fatalf("step %d: store %#x of %#x, frame %#x holds %#x", step, va, v, tr.PA, *word(tr.PA))
				}
				checked++
				if faultedNow {
					faulted++
				}
			}
		}
	}
	t.Logf("%d steps, %d real accesses, %d aborts, each as the walk predicted", steps, checked, faulted)
	if faulted == 0 || faulted == checked {
		t.Fatalf("%d of %d accesses faulted: the sequence did not exercise both outcomes", faulted, checked)
	}
}

// TestTargetRealAccessesSetReferencedAndModified: a page entered without
// Accessed or Written takes an access-flag fault on its first load and a
// permission fault on its first store; Upgrade resolves both, and the Pmap
// then reports the page referenced and modified, with the data in place.
func TestTargetRealAccessesSetReferencedAndModified(t *testing.T) {
	e := newTargetEnv(t)
	rec := &recorder{p: e.p, upgrade: true}
	e.d.Register(rec)
	va, pa := targetWindow+0x5000, targetFramesPA+0x3000
	*word(pa + 8) = 0x1234
	if err := e.p.Enter(va, pa, ProtRead|ProtWrite, MemNormal, Page4K, 0); err != nil {
		t.Fatal(err)
	}
	if e.p.IsReferenced(va) || e.p.IsModified(va) {
		t.Fatal("a fresh mapping is referenced or modified")
	}
	before := e.d.Counts
	if got := probeLoad(va + 8); got != 0x1234 || !e.p.IsReferenced(va) || e.p.IsModified(va) {
		t.Fatalf("after a load: value %#x, referenced %v, modified %v", got, e.p.IsReferenced(va), e.p.IsModified(va))
	}
	probeStore(va+12, 0x5678)
	if *word(pa + 12) != 0x5678 || !e.p.IsModified(va) {
		t.Fatalf("after a store: frame holds %#x, modified %v", *word(pa + 12), e.p.IsModified(va))
	}
	if n := e.d.Counts[Retry] - before[Retry]; n != 2 || rec.faults != 0 {
		t.Fatalf("%d faults resolved by Upgrade (want 2: access flag, write), %d left over", n, rec.faults)
	}
	// Clearing re-arms both: the next load and store fault again.
	e.p.ClearReferenced(va)
	e.p.ClearModified(va)
	probeLoad(va)
	probeStore(va, 1)
	if n := e.d.Counts[Retry] - before[Retry]; n != 4 || !e.p.IsReferenced(va) || !e.p.IsModified(va) {
		t.Fatalf("after clearing: %d faults in all, referenced %v, modified %v", n, e.p.IsReferenced(va), e.p.IsModified(va))
	}
}

// mapper is a fault handler that maps each faulting page of the window to
// a frame: the bare fault round trip. Odd pages go through EnterPage.
type mapper struct{ p *Pmap }

func (m mapper) HandleFault(f *Fault, onG0 bool) Resolution {
	va := f.Addr &^ 0xfff
	pa := targetFramesPA + (va - targetWindow)
	var err error
	if va>>12&1 != 0 {
		a, _ := NewPageAttr(ProtRead|ProtWrite, MemNormal, Accessed)
		err = m.p.EnterPage(va, pa, a)
	} else {
		err = m.p.Enter(va, pa, ProtRead|ProtWrite, MemNormal, Page4K, Accessed)
	}
	if err != nil {
		return Unhandled
	}
	return Retry
}

// TestTargetAbortPathAllocatesNothing counts heap allocations around
// faults that the handler resolves by entering a page, and around Enter,
// Protect and Remove.
func TestTargetAbortPathAllocatesNothing(t *testing.T) {
	e := newTargetEnv(t)
	e.d.Register(mapper{e.p})
	const pages = 256
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := uint32(0); i < pages; i++ {
		probeLoad(targetWindow + i<<12)
	}
	e.p.Protect(targetWindow, targetWindow+pages<<12, ProtRead)
	e.p.Remove(targetWindow, targetWindow+pages<<12)
	runtime.ReadMemStats(&after)
	if e.d.Counts[Retry] != pages {
		t.Fatalf("%d faults resolved, want %d", e.d.Counts[Retry], pages)
	}
	if n := after.Mallocs - before.Mallocs; n != 0 {
		t.Fatalf("%d heap allocations over %d faults, a Protect and a Remove", n, pages)
	}
}

// execRecorder records prefetch aborts and returns from the faulting
// call (probeExec), as if the code called had returned at once.
type execRecorder struct {
	faults int
	last   Fault
}

func (r *execRecorder) HandleFault(f *Fault, onG0 bool) Resolution {
	if f.Access != Execute {
		return Unhandled
	}
	r.faults++
	r.last = *f
	*(*uint32)(physPtr(ReadSPusr() - 4)) = readLRusr() // resume at the return address
	return Retry
}

// TestTargetPrefetchAbortsReachTheHandler: calls into the window take
// prefetch aborts that the hook decodes as the software walk predicts
// (not mapped, execute-never), and a call into an executable page runs
// its code.
func TestTargetPrefetchAbortsReachTheHandler(t *testing.T) {
	e := newTargetEnv(t)
	rec := &execRecorder{}
	e.d.Register(rec)
	code := targetFramesPA + 0x7000
	*word(code) = 0xe3a00055     // mov r0, #0x55
	*word(code + 4) = 0xe12fff1e // bx lr
	SyncInstructions(code, 8, DCacheLineSize())
	va := targetWindow + 0x3000
	if err := e.p.Enter(targetWindow, targetFramesPA, ProtRead, MemNormal, Page4K, Accessed); err != nil {
		t.Fatal(err) // the window's first table
	}
	for _, c := range []struct {
		name  string
		enter func() error
		runs  bool
	}{
		{"not mapped", func() error { return nil }, false},
		{"execute-never", func() error { return e.p.Enter(va, code&^0xfff, ProtRead, MemNormal, Page4K, Accessed) }, false},
		{"executable", func() error { return e.p.Enter(va, code&^0xfff, ProtRead|ProtExec, MemNormal, Page4K, Accessed) }, true},
	} {
		if err := c.enter(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, want, ok := e.walk.Walk(va+code&0xfff, Execute)
		before := rec.faults
		got := probeExec(va + code&0xfff)
		switch {
		case ok != c.runs:
			t.Fatalf("%s: the walk says ok %v", c.name, ok)
		case c.runs && (got != 0x55 || rec.faults != before):
			t.Fatalf("%s: call returned %#x after %d aborts", c.name, got, rec.faults-before)
		case !c.runs && (got != 0 || rec.faults != before+1):
			t.Fatalf("%s: call returned %#x after %d aborts, want one", c.name, got, rec.faults-before)
		case !c.runs && !rec.last.Same(&want):
			t.Fatalf("%s: abort %+v (FS %05b), the walk predicts %+v (FS %05b)", c.name, rec.last, rec.last.FS(), want, want.FS())
		case !c.runs && (rec.last.Kind != want.Kind || rec.last.Level != want.Level):
			t.Fatalf("%s: decoded %v level %d, want %v level %d", c.name, rec.last.Kind, rec.last.Level, want.Kind, want.Level)
		}
	}
}

// TestTargetFaultNamesItsGoroutine: the abort hook tells the handler which
// goroutine took the fault (Fault.G), as CurrentG names it from inside
// that goroutine; two goroutines have different names.
func TestTargetFaultNamesItsGoroutine(t *testing.T) {
	e := newTargetEnv(t)
	rec := &recorder{p: e.p}
	e.d.Register(rec)
	va := targetWindow + 3<<12 // nothing mapped there
	type seen struct{ self, fault uintptr }
	got := make(chan seen)
	hold := make(chan struct{}) // both goroutines live until the end: a g is reused once free
	defer close(hold)
	fault := func() {
		before := rec.faults
		probeLoad(va)
		if rec.faults != before+1 {
			got <- seen{}
		} else {
			got <- seen{CurrentG(), rec.last.G}
		}
		<-hold
	}
	go fault()
	a := <-got
	go fault()
	b := <-got
	for _, s := range []seen{a, b} {
		if s.self == 0 || s.fault != s.self {
			t.Fatalf("fault taken by goroutine %#x named %#x", s.self, s.fault)
		}
	}
	if a.self == b.self {
		t.Fatalf("two goroutines both named %#x", a.self)
	}
}
