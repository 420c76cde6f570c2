//go:build tamago

package vm

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/pager/zerofill"
	"github.com/tamach/tamach/pmap"
)

// On-target tests: the kernel resolves real aborts of the live MMU, and
// faulting goroutines wait through the fault-yield trampoline.

const targetFramesMiB = 4

func newTarget(t testing.TB, windowMiB uint32) *Target {
	t.Helper()
	l := qemu.Layout
	tg, err := NewTarget(l, TargetConfig{
		PageSize:     4 << 10,
		Frames:       board.Region{Start: l.FramePool.Start, Size: targetFramesMiB << 20},
		Window:       board.Region{Start: l.Window.Start, Size: windowMiB << 20},
		DefaultPager: zerofill.Pager{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Close)
	return tg
}

func pattern(off uint32) uint32 { return off*2654435761 ^ 0x5a5a0000 }

// TestTargetObjectFourTimesThePool writes an object four times the frame
// pool through real faults, from four goroutines (two with word stores,
// two with copy, that is runtime.memmove), and reads it back twice in
// different orders, every word checked; page-ins, page-outs and evictions
// must add up.
func TestTargetObjectFourTimesThePool(t *testing.T) {
	tg := newTarget(t, 64)
	k := tg.Kernel
	frames := k.Stats().Frames
	size := uint32(4 * targetFramesMiB << 20)
	obj, err := rampager.New(rampager.Config{Size: mo.Size(size)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := k.Map(obj, mo.Size(size), 0, size, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	win := r.Bytes()
	const workers = 4
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			part := size / workers
			var page [4096]byte
			for off := uint32(w) * part; off < uint32(w+1)*part; off += 4096 {
				if w%2 == 0 {
					for i := uint32(0); i < 4096; i += 4 {
						binary.LittleEndian.PutUint32(win[off+i:], pattern(off+i))
					}
				} else {
					for i := uint32(0); i < 4096; i += 4 {
						binary.LittleEndian.PutUint32(page[i:], pattern(off+i))
					}
					copy(win[off:off+4096], page[:])
				}
			}
		}(w)
	}
	wg.Wait()
	check := func(order string, next func(i uint32) uint32) {
		pages := size / 4096
		for i := uint32(0); i < pages; i++ {
			off := next(i) * 4096
			for j := uint32(0); j < 4096; j += 4 {
				if got := binary.LittleEndian.Uint32(win[off+j:]); got != pattern(off+j) {
					t.Fatalf("%s: word at %#x is %#x, want %#x", order, off+j, got, pattern(off+j))
				}
			}
		}
	}
	check("forward", func(i uint32) uint32 { return i })
	pages := size / 4096
	check("strided backward", func(i uint32) uint32 { return (pages - 1 - i*97%pages) })
	s := k.Stats()
	t.Logf("%d frames, object of %d pages: faults %d, page-ins %d, page-outs %d, evictions %d (clean %d), yields %d",
		frames, pages, s.Faults, s.PageIns, s.PageOuts, s.Evictions, s.CleanDrops, s.Yields)
	// Each of the three passes finds at most a pool's worth of pages
	// resident; every page written and evicted went out with data_return.
	if s.PageIns < uint64(3*pages-2*uint32(frames)) || s.PageOuts < uint64(pages-uint32(frames)) {
		t.Errorf("too few page-ins or page-outs for an object 4 times the pool: %+v", s)
	}
	if inUse := s.Frames - s.FreeFrames; s.PageIns-s.Evictions-s.Flushed != uint64(inUse) {
		t.Errorf("page-ins %d - evictions %d - flushed %d != frames in use %d", s.PageIns, s.Evictions, s.Flushed, inUse)
	}
	if s.Evictions != s.CleanDrops+s.PageOuts {
		t.Errorf("evictions %d != clean drops %d + page-outs %d", s.Evictions, s.CleanDrops, s.PageOuts)
	}
	if err := k.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if err := r.Unmap(); err != nil {
		t.Fatal(err)
	}
}

// TestTargetPagerAnswersFromItsGoroutine maps an object whose pager
// answers from its own goroutine: a load and a copy (runtime.memmove)
// from the window wait for it by yielding, and meanwhile another goroutine
// makes progress.
func TestTargetPagerAnswersFromItsGoroutine(t *testing.T) {
	tg := newTarget(t, 8)
	init := make([]byte, 64<<10)
	for i := range init {
		init[i] = byte(i*7 + i>>12)
	}
	obj, err := rampager.New(rampager.Config{Size: mo.Size(len(init)), Initial: init, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	r, err := tg.Kernel.Map(obj, mo.Size(len(init)), 0, uint32(len(init)), MapOptions{Prot: mo.ProtRead})
	if err != nil {
		t.Fatal(err)
	}
	win := r.Bytes()
	var progress atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				progress.Add(1)
				runtime.Gosched()
			}
		}
	}()
	before := progress.Load()
	yields := Faults()[pmap.Yield]
	if got := win[5]; got != init[5] {
		t.Errorf("load: %#x, want %#x", got, init[5])
	}
	during := progress.Load() - before
	buf := make([]byte, 32<<10)
	copy(buf, win[16<<10:])
	close(stop)
	<-done
	for i := range buf {
		if buf[i] != init[16<<10+i] {
			t.Fatalf("copy: byte %d is %#x, want %#x", i, buf[i], init[16<<10+i])
		}
	}
	y := Faults()[pmap.Yield] - yields
	t.Logf("%d yields; the other goroutine ran %d times during the first load", y, during)
	if y == 0 || during == 0 {
		t.Errorf("the faults did not wait by yielding (%d yields) or nothing else ran meanwhile (%d)", y, during)
	}
	if err := r.Unmap(); err != nil {
		t.Fatal(err)
	}
}

// TestTargetUnmappedAccessIsUnhandled: an access to the window outside
// every mapping is answered Unhandled with the reason, which the hook
// turns into a fault report (tested in pmap); here the kernel's own
// record is checked through the handler, without stopping the program.
func TestTargetUnmappedAccessIsUnhandled(t *testing.T) {
	tg := newTarget(t, 8)
	f := pmap.Fault{Addr: tg.Pmap.Base() + 0x3000, Access: pmap.Read, Kind: pmap.KindTranslation, Level: 1}
	if r := tg.Kernel.HandleFault(&f, false); r != pmap.Unhandled {
		t.Fatalf("HandleFault = %v, want unhandled", r)
	}
	if rep := tg.Kernel.LastUnhandled(); rep.Addr != f.Addr || rep.Reason != ReasonNoMapping {
		t.Fatalf("LastUnhandled = %+v", rep)
	}
}

// TestTargetPagerLookupInTheHandlerAllocatesNothing: the pager's lookup
// of the calling kernel (mo.Kernels.Enter), made inside the fault handler
// for a mo.FaultSafe pager, allocates nothing when it must scan the
// registry: a second kernel's data request between the faults takes the
// pager's cached control each time, so every fault's lookup scans.
func TestTargetPagerLookupInTheHandlerAllocatesNothing(t *testing.T) {
	tg := newTarget(t, 8)
	k := tg.Kernel
	const pages = 64
	obj, _ := rampager.New(rampager.Config{Size: pages * 4096})
	other := motest.NewFrameControl(4096, nil)
	if err := obj.Init(0, other, 4096); err != nil {
		t.Fatal(err)
	}
	r, err := k.Map(obj, pages*4096, 0, pages*4096, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := r.Bytes()
	s0 := k.Stats()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sum := byte(0)
	for i := 0; i < pages; i++ {
		if err := obj.DataRequest(mo.Seqno(1+i), other, 0, 4096, mo.ProtRead); err != nil {
			t.Fatal(err)
		}
		sum += w[i*4096]
	}
	runtime.ReadMemStats(&after)
	s := k.Stats()
	if s.FaultsPager-s0.FaultsPager != pages || s.Yields != s0.Yields || other.Supplies != pages {
		t.Fatalf("%d pager faults, %d yields, %d supplies to the other kernel; want %d, 0, %d",
			s.FaultsPager-s0.FaultsPager, s.Yields-s0.Yields, other.Supplies, pages, pages)
	}
	if n := after.Mallocs - before.Mallocs; n != 0 {
		t.Fatalf("%d heap allocations over %d faults and requests (sum %d)", n, 2*pages, sum)
	}
	r.Unmap()
}

// TestTargetFaultPathAllocatesNothing counts heap allocations over real
// zero-fill faults, synchronous pager faults and resident faults.
func TestTargetFaultPathAllocatesNothing(t *testing.T) {
	tg := newTarget(t, 8)
	k := tg.Kernel
	const pages = 128
	zr, err := k.Allocate(pages*4096, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := rampager.New(rampager.Config{Size: pages * 4096})
	pr, err := k.Map(obj, pages*4096, 0, pages*4096, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zw, pw := zr.Bytes(), pr.Bytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sum := byte(0)
	for i := 0; i < pages*4096; i += 4096 {
		sum += zw[i] + pw[i]
	}
	k.mu.Lock()
	k.pm.Remove(zr.Addr(), zr.Addr()+zr.Size())
	k.mu.Unlock()
	for i := 0; i < pages*4096; i += 4096 {
		sum += zw[i]
	}
	runtime.ReadMemStats(&after)
	s := k.Stats()
	if s.FaultsResident < pages || s.FaultsPager < pages {
		t.Fatalf("faults: %+v", s)
	}
	if n := after.Mallocs - before.Mallocs; n != 0 {
		t.Fatalf("%d heap allocations over %d faults (sum %d)", n, 3*pages, sum)
	}
	zr.Unmap()
	pr.Unmap()
}

// Benchmarks: under QEMU with -icount shift=0 (make bench) ns/op counts
// instructions. Each touches pages in batches of 256 and, outside the
// timer, makes them fault again.

const benchBatch = 256

// benchSink keeps the benchmarks' loads from being optimised away.
var benchSink byte

func benchFaults(b *testing.B, tg *Target, r *Region, refresh func()) {
	win := r.Bytes()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % benchBatch
		if k == 0 && i > 0 {
			b.StopTimer()
			refresh()
			b.StartTimer()
		}
		benchSink += win[k*4096]
	}
	b.StopTimer()
}

// BenchmarkTargetResidentFault: the page is in the page cache, its
// mapping was removed: a translation fault that vm resolves by entering it.
func BenchmarkTargetResidentFault(b *testing.B) {
	tg := newTarget(b, 8)
	r, _ := tg.Kernel.Allocate(benchBatch*4096, MapOptions{})
	unmap := func() {
		tg.Kernel.mu.Lock()
		tg.Pmap.Remove(r.Addr(), r.Addr()+r.Size())
		tg.Kernel.mu.Unlock()
	}
	for i := 0; i < benchBatch; i++ {
		benchSink += r.Bytes()[i*4096]
	}
	unmap()
	benchFaults(b, tg, r, unmap)
}

// BenchmarkTargetZeroFillFault: a fresh page of anonymous memory from the
// zero-fill pager, answered inside the call with data_unavailable.
func BenchmarkTargetZeroFillFault(b *testing.B) {
	tg := newTarget(b, 8)
	r, _ := tg.Kernel.Allocate(benchBatch*4096, MapOptions{})
	benchFaults(b, tg, r, func() {
		r.Unmap()
		r, _ = tg.Kernel.Allocate(benchBatch*4096, MapOptions{Addr: r.Addr()})
	})
}

func benchPager(b *testing.B, async bool) {
	tg := newTarget(b, 8)
	obj, _ := rampager.New(rampager.Config{Size: benchBatch * 4096, Async: async})
	defer obj.Close()
	r, _ := tg.Kernel.Map(obj, benchBatch*4096, 0, benchBatch*4096, MapOptions{})
	benchFaults(b, tg, r, func() {
		r.Unmap()
		r, _ = tg.Kernel.Map(obj, benchBatch*4096, 0, benchBatch*4096, MapOptions{Addr: r.Addr()})
	})
}

// BenchmarkTargetSyncPagerRoundTrip: data_request, data_supply with a 4 KiB
// copy inside the call, enter, retry.
func BenchmarkTargetSyncPagerRoundTrip(b *testing.B) { benchPager(b, false) }

// BenchmarkTargetAsyncPagerRoundTrip: the same with the pager answering
// from its own goroutine: the faulting goroutine yields and faults again.
func BenchmarkTargetAsyncPagerRoundTrip(b *testing.B) { benchPager(b, true) }

// BenchmarkTargetEvictClean: the clock reclaims clean pages that a pass
// before found unreferenced (frame and access flag cleared), mapped: each
// is harvested, unmapped and freed without a pager call. Timed is one
// reclaim over a batch of such pages, as the pageout goroutine makes it;
// faulting them in again and the first pass are outside the timer.
func BenchmarkTargetEvictClean(b *testing.B) {
	tg := newTarget(b, 8)
	k := tg.Kernel
	r, _ := k.Allocate(benchBatch*4096, MapOptions{})
	win := r.Bytes()
	b.ResetTimer()
	for n := 0; n < b.N; n += benchBatch {
		batch := min(benchBatch, b.N-n)
		b.StopTimer()
		for i := 0; i < batch; i++ {
			benchSink += win[i*4096]
		}
		k.mu.Lock()
		for i := 0; i < batch; i++ {
			f := k.pool.lookup(r.o.id, uint32(i))
			if f < 0 || k.pool.frames[f].flags&(pgDirty|pgPrecious|pgBusy) != 0 {
				k.mu.Unlock()
				b.Fatalf("page %d: frame %d is not resident and clean", i, f)
			}
			// The clock's first pass: the reference is taken away.
			k.harvestLocked(r.o, f, false, true)
			k.pool.frames[f].flags &^= pgReferenced
		}
		// The pages are in the lowest frames: start the hand there.
		k.pool.hand = 0
		evictions := k.stats.CleanDrops
		b.StartTimer()
		freed, _ := k.reclaimLocked(batch, true)
		b.StopTimer()
		if freed != batch || k.stats.CleanDrops-evictions != uint64(batch) {
			k.mu.Unlock()
			b.Fatalf("reclaimed %d clean pages (%d dropped), want %d", freed, k.stats.CleanDrops-evictions, batch)
		}
		k.mu.Unlock()
		b.StartTimer()
	}
}

// BenchmarkTargetCopy4K is the reference: a 4 KiB copy between frames.
func BenchmarkTargetCopy4K(b *testing.B) {
	src := Identity{}.Bytes(qemu.Layout.FramePool.Start+(targetFramesMiB<<20), 4096)
	dst := Identity{}.Bytes(qemu.Layout.FramePool.Start+(targetFramesMiB<<20)+4096, 4096)
	for i := 0; i < b.N; i++ {
		copy(dst, src)
	}
}

// BenchmarkTargetClear4K is the reference of a zero-fill: a 4 KiB clear.
func BenchmarkTargetClear4K(b *testing.B) {
	dst := Identity{}.Bytes(qemu.Layout.FramePool.Start+(targetFramesMiB<<20), 4096)
	for i := 0; i < b.N; i++ {
		clear(dst)
	}
}

// ownPageToucher is a pager that is not fault-safe (its calls come from
// the call workers) and that, inside the data_request for offset
// touchOff, loads from byte at of its own object through the window:
// after answering it, or before with beforeAnswer.
type ownPageToucher struct {
	mo.Object
	win          []byte
	touchOff     mo.Offset
	at           int
	beforeAnswer bool
	got          byte
	caught       uint64 // unhandled faults caught during the load
	touched      chan struct{}
}

func (p *ownPageToucher) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	if off == p.touchOff && p.beforeAnswer {
		p.touch()
	}
	err := p.Object.DataRequest(seq, ctl, off, n, desired)
	if off == p.touchOff && !p.beforeAnswer {
		p.touch()
	}
	return err
}

func (p *ownPageToucher) touch() {
	before := router.caught
	p.got = p.win[p.at] // a real abort, taken by the call worker
	p.caught = router.caught - before
	close(p.touched)
}

// TestTargetPagerTouchingItsOwnRequestedPageIsReported: on the target,
// a pager that is not fault-safe touches, before answering, the page it
// was asked for: its access is Unhandled with ReasonSelfDeadlock, naming
// the address (here caught and skipped, as a test may, instead of
// stopping the program), and the outer access is then served.
func TestTargetPagerTouchingItsOwnRequestedPageIsReported(t *testing.T) {
	tg := newTarget(t, 8)
	tg.Kernel.callWaitLimit = 1000 // the default takes seconds of retries
	catchUnhandled(true)
	defer catchUnhandled(false)
	init := make([]byte, 16<<10)
	for i := range init {
		init[i] = byte(i>>12 + 1)
	}
	inner, err := rampager.New(rampager.Config{Size: mo.Size(len(init)), Initial: init})
	if err != nil {
		t.Fatal(err)
	}
	p := &ownPageToucher{Object: inner, touchOff: 1 << 12, at: 1<<12 + 9, beforeAnswer: true, touched: make(chan struct{})}
	r, err := tg.Kernel.Map(p, mo.Size(len(init)), 0, uint32(len(init)), MapOptions{Prot: mo.ProtRead})
	if err != nil {
		t.Fatal(err)
	}
	p.win = r.Bytes()
	if got := p.win[1<<12+7]; got != 2 {
		t.Fatalf("outer load: %#x, want 2", got)
	}
	<-p.touched
	if p.caught != 1 {
		t.Fatalf("%d unhandled faults during the pager's access to its requested page, want 1", p.caught)
	}
	if rep := tg.Kernel.LastUnhandled(); rep.Reason != ReasonSelfDeadlock || rep.Addr != r.Addr()+1<<12+9 {
		t.Fatalf("report %+v, want %v at %#x", rep, ReasonSelfDeadlock, r.Addr()+1<<12+9)
	}
	if err := r.Unmap(); err != nil {
		t.Fatal(err)
	}
}

// TestTargetPagerTouchingAnotherPageOfItsObjectIsServed: on the target,
// the abort hook names the faulting goroutine, so the kernel knows a call
// worker's access inside a call on the same object: that page's
// data_request goes to another worker, and both accesses are served.
func TestTargetPagerTouchingAnotherPageOfItsObjectIsServed(t *testing.T) {
	tg := newTarget(t, 8)
	init := make([]byte, 16<<10)
	for i := range init {
		init[i] = byte(i>>12 + 1)
	}
	inner, err := rampager.New(rampager.Config{Size: mo.Size(len(init)), Initial: init})
	if err != nil {
		t.Fatal(err)
	}
	p := &ownPageToucher{Object: inner, touchOff: 0, at: 2<<12 + 5, touched: make(chan struct{})}
	r, err := tg.Kernel.Map(p, mo.Size(len(init)), 0, uint32(len(init)), MapOptions{Prot: mo.ProtRead})
	if err != nil {
		t.Fatal(err)
	}
	p.win = r.Bytes()
	before := tg.Kernel.Stats()
	if got := p.win[7]; got != 1 {
		t.Fatalf("outer load: %#x, want 1", got)
	}
	<-p.touched
	if p.got != 3 || p.caught != 0 {
		t.Fatalf("the pager's load from page 2: %#x (%d faults caught), want 3", p.got, p.caught)
	}
	s := tg.Kernel.Stats()
	if s.DataRequests-before.DataRequests != 2 || s.Unhandled != before.Unhandled {
		t.Fatalf("%d data_requests, %d unhandled; want 2 and none",
			s.DataRequests-before.DataRequests, s.Unhandled-before.Unhandled)
	}
	if err := r.Unmap(); err != nil {
		t.Fatal(err)
	}
}
