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

// BenchmarkTargetEnter enters one 4 KiB page with its TLB and cache
// upkeep.
func BenchmarkTargetEnter(b *testing.B) {
	e := newTargetEnv(b)
	for i := 0; i < b.N; i++ {
		k := uint32(i % benchPages)
		if k == 0 && i > 0 {
			b.StopTimer()
			e.p.Remove(targetWindow, targetWindow+benchPages<<12)
			b.StartTimer()
		}
		e.p.Enter(targetWindow+k<<12, targetFramesPA+k<<12, ProtRead|ProtWrite, MemNormal, Page4K, Accessed)
	}
}

// BenchmarkTargetFaultRoundTrip takes a translation fault, whose handler
// enters the page, and retries the load: exception entry, decode,
// dispatch, Enter with upkeep, exception return.
func BenchmarkTargetFaultRoundTrip(b *testing.B) {
	e := newTargetEnv(b)
	e.d.Register(mapper{e.p})
	for i := 0; i < b.N; i++ {
		k := uint32(i % benchPages)
		if k == 0 && i > 0 {
			b.StopTimer()
			e.p.Remove(targetWindow, targetWindow+benchPages<<12)
			b.StartTimer()
		}
		probeLoad(targetWindow + k<<12)
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
	for k := uint32(0); k < benchPages; k++ {
		if err := e.p.Enter(targetWindow+k<<12, targetFramesPA+k<<12, ProtRead|ProtWrite, MemNormal, Page4K, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := uint32(i % benchPages)
		if k == 0 && i > 0 {
			b.StopTimer()
			for j := uint32(0); j < benchPages; j++ {
				e.p.ClearReferenced(targetWindow + j<<12)
			}
			b.StartTimer()
		}
		probeLoad(targetWindow + k<<12)
	}
	b.StopTimer()
	if e.d.Counts[Retry] != uint64(b.N) {
		b.Fatalf("%d faults resolved, want %d", e.d.Counts[Retry], b.N)
	}
}

// BenchmarkTargetRemove removes one 4 KiB page from a table that stays
// (the last page of each MiB is kept mapped).
func BenchmarkTargetRemove(b *testing.B) {
	e := newTargetEnv(b)
	const perMiB = 255
	enterAll := func() {
		for k := uint32(0); k < benchPages; k++ {
			e.p.Enter(targetWindow+k<<12, targetFramesPA+k<<12, ProtRead|ProtWrite, MemNormal, Page4K, Accessed)
		}
	}
	enterAll()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := uint32(i % (perMiB * targetWindowMiB))
		if k == 0 && i > 0 {
			b.StopTimer()
			enterAll()
			b.StartTimer()
		}
		va := targetWindow + (k/perMiB)<<20 + (k%perMiB)<<12
		e.p.Remove(va, va+4096)
	}
	b.StopTimer()
	if e.p.Tables() != targetWindowMiB {
		b.Fatalf("%d tables left, want %d", e.p.Tables(), targetWindowMiB)
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
// TamaGo exception handler that skips the load: TamaGo's fixed cost.
func BenchmarkTargetFaultVector(b *testing.B) {
	newTargetEnv(b)
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
