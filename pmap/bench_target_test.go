//go:build tamago

package pmap

import (
	"testing"

	"github.com/usbarmory/tamago/arm"
)

// Target benchmarks. Run them under QEMU with -icount shift=0 (qemu-run
// -icount): guest time then counts instructions, so ns/op is
// instructions per operation, repeatable to about 1%.
//
// The fault benchmarks subtract: FaultVector is TamaGo's fixed cost (the
// exception, its vector, runtime.CallOnG0 and a handler that only skips
// the load); FaultSkip adds the abort hook and the Dispatcher with a
// handler that resolves nothing; FaultRoundTrip and Upgrade add the
// work of Enter and Upgrade inside the handler. Load is the loop and
// the probe without a fault.

const benchPages = targetWindowMiB << 8

// The page kept mapped in each MiB of the window, so that its L2 table
// stays: the benchmarks measure the common case of one page in an
// existing table, and their loops step over this page.
const benchKept = 0xff000

// benchMapAll enters every page of the window but the kept ones, or
// every page with kept set.
func benchMapAll(b *testing.B, p *Pmap, flags EnterFlags, kept bool) {
	for k := uint32(0); k < benchPages; k++ {
		if k&0xff == benchKept>>12 && !kept {
			continue
		}
		if err := p.Enter(targetWindow+k<<12, targetFramesPA+k<<12, ProtRead|ProtWrite, MemNormal, Page4K, flags); err != nil {
			b.Fatal(err)
		}
	}
}

// benchUnmapAll removes every page of the window but the kept ones.
func benchUnmapAll(p *Pmap) {
	for mib := uint32(0); mib < targetWindowMiB; mib++ {
		va := targetWindow + mib<<20
		p.Remove(va, va+benchKept)
	}
}

// BenchmarkTargetEnter enters one 4 KiB page, in a table that exists
// and where nothing was mapped, with its cache upkeep (the page was not
// mapped: no TLB entry to invalidate). The loop and the call's
// arguments cost about 20 of the instructions.
func BenchmarkTargetEnter(b *testing.B) {
	e := newTargetEnv(b)
	for mib := uint32(0); mib < targetWindowMiB; mib++ {
		if err := e.p.Enter(targetWindow+mib<<20+benchKept, targetFramesPA, ProtRead, MemNormal, Page4K, Accessed); err != nil {
			b.Fatal(err)
		}
	}
	p, va, pa := e.p, targetWindow, targetFramesPA
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Enter(va, pa, ProtRead|ProtWrite, MemNormal, Page4K, Accessed)
		va, pa = va+4096, pa+4096
		if va&0xff000 == benchKept {
			va, pa = va+4096, pa+4096
			if va == targetWindow+benchPages<<12 {
				b.StopTimer()
				benchUnmapAll(p)
				va, pa = targetWindow, targetFramesPA
				b.StartTimer()
			}
		}
	}
}

// BenchmarkTargetEnterPage is BenchmarkTargetEnter through EnterPage,
// the fault handler's way to enter a page (the PageAttr made once).
func BenchmarkTargetEnterPage(b *testing.B) {
	e := newTargetEnv(b)
	for mib := uint32(0); mib < targetWindowMiB; mib++ {
		if err := e.p.Enter(targetWindow+mib<<20+benchKept, targetFramesPA, ProtRead, MemNormal, Page4K, Accessed); err != nil {
			b.Fatal(err)
		}
	}
	a, err := NewPageAttr(ProtRead|ProtWrite, MemNormal, Accessed)
	if err != nil {
		b.Fatal(err)
	}
	p, va, pa := e.p, targetWindow, targetFramesPA
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.EnterPage(va, pa, a)
		va, pa = va+4096, pa+4096
		if va&0xff000 == benchKept {
			va, pa = va+4096, pa+4096
			if va == targetWindow+benchPages<<12 {
				b.StopTimer()
				benchUnmapAll(p)
				va, pa = targetWindow, targetFramesPA
				b.StartTimer()
			}
		}
	}
}

// frameMapper is a fault handler that maps each faulting page of the
// window to a frame, with EnterPage or, with enter set, Enter.
type frameMapper struct {
	p            *Pmap
	base, frames uint32
	attr         PageAttr
	enter        bool
}

// HandleFault needs no stack check, as vm's does not (go:nosplit).
//
//go:nosplit
func (m *frameMapper) HandleFault(f *Fault, onG0 bool) Resolution {
	va := f.Addr &^ 0xfff
	var err error
	if m.enter {
		err = m.p.Enter(va, va-m.base+m.frames, ProtRead|ProtWrite, MemNormal, Page4K, Accessed)
	} else {
		err = m.p.EnterPage(va, va-m.base+m.frames, m.attr)
	}
	if err != nil {
		return Unhandled
	}
	return Retry
}

// BenchmarkTargetFaultRoundTrip takes a translation fault, whose handler
// enters the page with EnterPage, and retries the load: exception
// entry, decode, dispatch, EnterPage with upkeep, exception return.
func BenchmarkTargetFaultRoundTrip(b *testing.B) { benchFaultRoundTrip(b, false) }

// BenchmarkTargetFaultRoundTripEnter is the round trip with a handler
// that calls Enter.
func BenchmarkTargetFaultRoundTripEnter(b *testing.B) { benchFaultRoundTrip(b, true) }

func benchFaultRoundTrip(b *testing.B, enter bool) {
	e := newTargetEnv(b)
	a, err := NewPageAttr(ProtRead|ProtWrite, MemNormal, Accessed)
	if err != nil {
		b.Fatal(err)
	}
	e.d.Register(&frameMapper{e.p, targetWindow, targetFramesPA, a, enter})
	for mib := uint32(0); mib < targetWindowMiB; mib++ {
		if err := e.p.Enter(targetWindow+mib<<20+benchKept, targetFramesPA, ProtRead, MemNormal, Page4K, Accessed); err != nil {
			b.Fatal(err)
		}
	}
	va := targetWindow
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probeLoad(va)
		va += 4096
		if va&0xff000 == benchKept {
			va += 4096
			if va == targetWindow+benchPages<<12 {
				b.StopTimer()
				benchUnmapAll(e.p)
				va = targetWindow
				b.StartTimer()
			}
		}
	}
	b.StopTimer()
	if e.d.Counts[Retry] != uint64(b.N) {
		b.Fatalf("%d faults resolved, want %d", e.d.Counts[Retry], b.N)
	}
}

// upgrader resolves faults with Upgrade only.
type upgrader struct{ p *Pmap }

func (u upgrader) HandleFault(f *Fault, onG0 bool) Resolution {
	if u.p.Upgrade(f) == 0 {
		return Unhandled
	}
	return Retry
}

// BenchmarkTargetUpgrade takes an access-flag fault on a page entered
// without Accessed, resolved by Pmap.Upgrade, and retries the load.
func BenchmarkTargetUpgrade(b *testing.B) {
	e := newTargetEnv(b)
	e.d.Register(upgrader{e.p})
	benchMapAll(b, e.p, 0, true)
	va := targetWindow
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probeLoad(va)
		va += 4096
		if va == targetWindow+benchPages<<12 {
			b.StopTimer()
			for j := uint32(0); j < benchPages; j++ {
				e.p.ClearReferenced(targetWindow + j<<12)
			}
			va = targetWindow
			b.StartTimer()
		}
	}
	b.StopTimer()
	if e.d.Counts[Retry] != uint64(b.N) {
		b.Fatalf("%d faults resolved, want %d", e.d.Counts[Retry], b.N)
	}
}

// BenchmarkTargetRemove removes one 4 KiB page from a table that keeps
// other mappings.
func BenchmarkTargetRemove(b *testing.B) {
	e := newTargetEnv(b)
	benchMapAll(b, e.p, Accessed, true)
	p, va := e.p, targetWindow
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Remove(va, va+4096)
		va += 4096
		if va&0xff000 == benchKept {
			va += 4096
			if va == targetWindow+benchPages<<12 {
				b.StopTimer()
				benchMapAll(b, p, Accessed, false)
				va = targetWindow
				b.StartTimer()
			}
		}
	}
	b.StopTimer()
	if p.Tables() != targetWindowMiB {
		b.Fatalf("%d tables left, want %d", p.Tables(), targetWindowMiB)
	}
}

// BenchmarkTargetReclaim is the clock's harvest of an idle clean 4 KiB
// page in a table that keeps other mappings: Reclaim drops it.
func BenchmarkTargetReclaim(b *testing.B) {
	e := newTargetEnv(b)
	benchMapAll(b, e.p, 0, true)
	p, va := e.p, targetWindow
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Reclaim(va, true)
		va += 4096
		if va&0xff000 == benchKept {
			va += 4096
			if va == targetWindow+benchPages<<12 {
				b.StopTimer()
				benchMapAll(b, p, 0, false)
				va = targetWindow
				b.StartTimer()
			}
		}
	}
	b.StopTimer()
	if p.Tables() != targetWindowMiB {
		b.Fatalf("%d tables left, want %d", p.Tables(), targetWindowMiB)
	}
}

// skipper resolves nothing: it skips the faulting load and retries.
type skipper struct{}

func (skipper) HandleFault(f *Fault, onG0 bool) Resolution {
	SkipFaultingInstruction()
	return Retry
}

// BenchmarkTargetFaultSkip takes a translation fault through the abort
// hook and the Dispatcher; the handler skips the load.
func BenchmarkTargetFaultSkip(b *testing.B) {
	e := newTargetEnv(b)
	e.d.Register(skipper{})
	for i := 0; i < b.N; i++ {
		probeLoad(targetWindow)
	}
	b.StopTimer()
	if e.d.Counts[Retry] != uint64(b.N) {
		b.Fatalf("%d faults resolved, want %d", e.d.Counts[Retry], b.N)
	}
}

// BenchmarkTargetFaultVector takes a translation fault handled by a bare
// TamaGo exception handler that skips the load: TamaGo's fixed cost. The
// data abort goes through TamaGo's own vector, put back for the run in
// place of the hook's (dataabort_arm.s).
func BenchmarkTargetFaultVector(b *testing.B) {
	newTargetEnv(b)
	slot := (*uint32)(physPtr(readVBAR() + vectorAddrs + arm.DATA_ABORT))
	hooks := *slot
	*slot, _ = tamagoAbortVectors()
	defer func() { *slot = hooks }()
	n := 0
	prev := arm.SystemExceptionHandler
	arm.SystemExceptionHandler = func(off int) {
		n++
		SkipFaultingInstruction()
	}
	defer func() { arm.SystemExceptionHandler = prev }()
	for i := 0; i < b.N; i++ {
		probeLoad(targetWindow)
	}
	b.StopTimer()
	if n != b.N {
		b.Fatalf("%d exceptions, want %d", n, b.N)
	}
}

// BenchmarkTargetLoad is the loop and a probe load that does not fault.
func BenchmarkTargetLoad(b *testing.B) {
	e := newTargetEnv(b)
	if err := e.p.Enter(targetWindow, targetFramesPA, ProtRead, MemNormal, Page4K, Accessed); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		probeLoad(targetWindow)
	}
}

// BenchmarkTargetCopy4K is the reference: a 4 KiB copy between frames.
func BenchmarkTargetCopy4K(b *testing.B) {
	src := (*[4096]byte)(physPtr(targetFramesPA))
	dst := (*[4096]byte)(physPtr(targetFramesPA + 4096))
	for i := 0; i < b.N; i++ {
		copy(dst[:], src[:])
	}
}
