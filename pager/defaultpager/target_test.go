//go:build tamago

package defaultpager

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/store"
	"github.com/tamach/tamach/vm"
)

// On-target tests: vm's anonymous memory over this pager, with the
// board's Store region as a RAM store, faults taken by the live MMU and
// served inside the fault handler.

const targetFramesMiB = 4

// boardStore is a store over the board's Store region: plain or sealed
// with AES-GCM.
func boardStore(t testing.TB, sealed bool) store.Store {
	if sealed {
		return boardSealed(t, store.AESGCM)
	}
	return boardStoreOf(t, false, 0)
}

// boardSealed is the board's Store region sealed with c.
func boardSealed(t testing.TB, c store.Cipher) store.Store { return boardStoreOf(t, true, c) }

func boardStoreOf(t testing.TB, sealed bool, c store.Cipher) store.Store {
	t.Helper()
	l := qemu.Layout.Store
	mem := store.PhysBytes(l.Start, l.Size)
	if !sealed {
		s, err := store.NewRAM(mem, ps)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	inner, err := store.NewRAM(mem, store.InnerPageSize(ps))
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.NewSealedRandomKeyCipher(inner, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func targetPager(t testing.TB, sealed bool) *Pager {
	t.Helper()
	return pagerOver(t, boardStore(t, sealed))
}

// pagerOver makes a synchronous pager with st as its one store.
func pagerOver(t testing.TB, st store.Store) *Pager {
	t.Helper()
	return pagerOverConfig(t, st, Config{})
}

// pagerOverConfig makes a pager of cfg with st as its one store.
func pagerOverConfig(t testing.TB, st store.Store, cfg Config) *Pager {
	t.Helper()
	p, err := NewOver(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newTarget(t testing.TB, p *Pager, windowMiB uint32) *vm.Target {
	t.Helper()
	l := qemu.Layout
	tg, err := vm.NewTarget(l, vm.TargetConfig{
		PageSize:     ps,
		Frames:       board.Region{Start: l.FramePool.Start, Size: targetFramesMiB << 20},
		Window:       board.Region{Start: l.Window.Start, Size: windowMiB << 20},
		DefaultPager: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Close)
	return tg
}

func targetPattern(off uint32) uint32 { return off*2654435761 ^ 0x3c3c0000 }

// testAnonymousFourTimes: anonymous memory four times the frames over p,
// written and read back; inline says whether p is fault-safe, so that
// vm serves its faults inside the handler, or goes through its call
// workers.
func testAnonymousFourTimes(t *testing.T, p *Pager, inline bool) {
	tg := newTarget(t, p, 64)
	k := tg.Kernel
	size := uint32(4 * targetFramesMiB << 20)
	r, err := k.Allocate(size, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	win := r.Bytes()
	for off := uint32(0); off < size; off += 4 {
		binary.LittleEndian.PutUint32(win[off:], targetPattern(off))
	}
	check := func(order string, next func(i uint32) uint32) {
		pages := size / ps
		for i := uint32(0); i < pages; i++ {
			off := next(i) * ps
			for j := uint32(0); j < ps; j += 4 {
				if got := binary.LittleEndian.Uint32(win[off+j:]); got != targetPattern(off+j) {
					t.Fatalf("%s: word at %#x is %#x, want %#x", order, off+j, got, targetPattern(off+j))
				}
			}
		}
	}
	pages := size / ps
	check("forward", func(i uint32) uint32 { return i })
	// The second pass pages in and out through the fault handler and the
	// pageout goroutine: nothing on either path allocates.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	check("strided backward", func(i uint32) uint32 { return pages - 1 - i*97%pages })
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n != 0 {
		t.Errorf("%d heap allocations over a pass of page-ins and page-outs", n)
	}
	vs, st := k.Stats(), p.Stats()
	t.Logf("%d frames, %d pages: vm faults %d (pager %d), yields %d, page-outs %d; pager page-ins %d, page-outs %d, handoffs %d",
		vs.Frames, pages, vs.Faults, vs.FaultsPager, vs.Yields, vs.PageOuts, st.PageIns, st.PageOuts, st.Handoffs)
	// Served inside the handler: a pager fault that had to wait for a
	// goroutine's answer would yield at least once. A pager that is not
	// fault-safe is called by vm's call workers, and every pager fault
	// yields.
	if inline && vs.Yields >= vs.FaultsPager/2 {
		t.Errorf("%d yields for %d pager faults: the page-ins were not served inside the fault handler", vs.Yields, vs.FaultsPager)
	}
	if !inline && vs.Yields < vs.FaultsPager {
		t.Errorf("%d yields for %d pager faults: a pager that is not fault-safe was called inside the fault handler", vs.Yields, vs.FaultsPager)
	}
	// Three passes over 4 times the pool: the pages written and evicted
	// went out, and the later passes read them back from the store.
	if st.PageOuts < uint64(pages-uint32(vs.Frames)) || st.PageIns < uint64(2*(pages-uint32(vs.Frames))) {
		t.Errorf("too few page-outs or page-ins for 4 times the pool: vm %+v, pager %+v", vs, st)
	}
	if err := k.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	checkInv(t, p)
	if err := r.Unmap(); err != nil {
		t.Fatal(err)
	}
	k.Quiesce()
	if in := p.Info(); in.FreeSpace != in.TotalSpace {
		t.Errorf("after unmap: %+v", in)
	}
}

// TestTargetAnonymousMemoryFourTimesTheFramesOverBoardRAM: anonymous
// memory four times the Target's frames, written and read back through
// Region.Bytes() (real faults, served inline by this pager from the
// board's Store region), every byte checked in two orders.
func TestTargetAnonymousMemoryFourTimesTheFramesOverBoardRAM(t *testing.T) {
	testAnonymousFourTimes(t, targetPager(t, false), true)
}

// TestTargetAnonymousMemoryFourTimesTheFramesOverSealedRAM: the same over
// the sealed (AES-GCM) store on the board's Store region.
func TestTargetAnonymousMemoryFourTimesTheFramesOverSealedRAM(t *testing.T) {
	testAnonymousFourTimes(t, targetPager(t, true), true)
}

// TestTargetAnonymousMemoryFourTimesTheFramesOverSealedChaChaRAM: the
// same sealed with ChaCha20-Poly1305.
func TestTargetAnonymousMemoryFourTimesTheFramesOverSealedChaChaRAM(t *testing.T) {
	testAnonymousFourTimes(t, pagerOver(t, boardSealed(t, store.ChaCha20Poly1305)), true)
}

// Benchmarks: under QEMU with -icount (shift=0), ns/op counts
// instructions.

const benchBatch = 256

var benchSink byte

// benchPageIn: each op is a read fault on a page the pager holds in the
// store: vm's handler calls data_request inline, the pager reads the slot
// (and opens it, sealed) and supplies it, vm enters the page. Outside
// the timer, every benchBatch pages, the object is unmapped (clean pages
// dropped) and mapped again.
func benchPageIn(b *testing.B, p *Pager) {
	tg := newTarget(b, p, 8)
	k := tg.Kernel
	obj, err := p.ObjectCreate(benchBatch * ps)
	if err != nil {
		b.Fatal(err)
	}
	r, err := k.Map(obj, benchBatch*ps, 0, benchBatch*ps, vm.MapOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchBatch*ps; i += 4 {
		binary.LittleEndian.PutUint32(r.Bytes()[i:], targetPattern(uint32(i)))
	}
	addr := r.Addr()
	remap := func() {
		if err := r.Unmap(); err != nil {
			b.Fatal(err)
		}
		k.Quiesce()
		if r, err = k.Map(obj, benchBatch*ps, 0, benchBatch*ps, vm.MapOptions{Addr: addr}); err != nil {
			b.Fatal(err)
		}
	}
	remap()
	before := p.Stats().PageIns
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % benchBatch
		if j == 0 && i > 0 {
			b.StopTimer()
			remap()
			b.StartTimer()
		}
		benchSink += r.Bytes()[j*ps+j]
	}
	b.StopTimer()
	if n := p.Stats().PageIns - before; n != uint64(b.N) {
		b.Fatalf("%d page-ins for %d faults", n, b.N)
	}
	r.Unmap()
}

// BenchmarkTargetPageIn: a fault served by the default pager from a RAM
// store (the board's Store region), one page per data_request (clusters
// of one page; BenchmarkTargetSequentialPageIn measures clusters).
func BenchmarkTargetPageIn(b *testing.B) {
	benchPageIn(b, pagerOverConfig(b, boardStore(b, false), Config{ClusterPages: 1}))
}

// BenchmarkTargetPageInSealed: the same from the sealed store (not a
// store.RunStore: clusters of one page).
func BenchmarkTargetPageInSealed(b *testing.B) { benchPageIn(b, targetPager(b, true)) }

// BenchmarkTargetPageInSealedChaCha: the same sealed with
// ChaCha20-Poly1305.
func BenchmarkTargetPageInSealedChaCha(b *testing.B) {
	benchPageIn(b, pagerOver(b, boardSealed(b, store.ChaCha20Poly1305)))
}

// benchPageOut: each op is one data_return of a 4 KiB page into the store.
func benchPageOut(b *testing.B, p *Pager) {
	ctl := motest.NewFrameControl(ps, nil)
	obj, err := p.Create(ctl, benchBatch*ps, ps)
	if err != nil {
		b.Fatal(err)
	}
	data := fill(7)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := obj.DataReturn(mo.Seqno(1+i), ctl, mo.Offset(i%benchBatch*ps), data, true, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTargetPageOut: data_return into a RAM store.
func BenchmarkTargetPageOut(b *testing.B) { benchPageOut(b, targetPager(b, false)) }

// BenchmarkTargetPageOutSealed: data_return into the sealed store.
func BenchmarkTargetPageOutSealed(b *testing.B) { benchPageOut(b, targetPager(b, true)) }

// BenchmarkTargetPageOutSealedChaCha: data_return into the store sealed
// with ChaCha20-Poly1305.
func BenchmarkTargetPageOutSealedChaCha(b *testing.B) {
	benchPageOut(b, pagerOver(b, boardSealed(b, store.ChaCha20Poly1305)))
}

// BenchmarkTargetCopy4K is the reference: a 4 KiB copy between two pages
// of the Store region.
func BenchmarkTargetCopy4K(b *testing.B) {
	l := qemu.Layout.Store
	src, dst := store.PhysBytes(l.Start, ps), store.PhysBytes(l.Start+ps, ps)
	for i := 0; i < b.N; i++ {
		copy(dst, src)
	}
}
