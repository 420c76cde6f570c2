package vm

import (
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/pager/zerofill"
	"github.com/tamach/tamach/pmap"
)

// fastPath sets up one kernel and one region for the allocation tests and
// benchmarks: pages of the region are faulted in directly with
// HandleFault, as the abort hook would.
type fastPath struct {
	e *testEnv
	r *Region
}

func newFastPath(tb testing.TB, obj mo.Object, pages int) *fastPath {
	e := newEnv(tb, envOpt{ps: 4 << 10, frames: 64, windowMiB: 2, noPageout: true})
	r, err := e.k.Map(obj, mo.Size(pages)<<12, 0, uint32(pages)<<12, MapOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return &fastPath{e: e, r: r}
}

// fault takes a translation fault on page i and requires Retry.
func (p *fastPath) fault(tb testing.TB, i int) {
	f := pmap.Fault{Addr: p.r.Addr() + uint32(i)<<12, Access: pmap.Read, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
	if r := p.e.k.HandleFault(&f, true); r != pmap.Retry {
		tb.Fatalf("fault on page %d: %v (%v)", i, r, p.e.k.LastUnhandled().Reason)
	}
}

// unmap removes the mapping of page i, keeping the page resident.
func (p *fastPath) unmap(i int) {
	va := p.r.Addr() + uint32(i)<<12
	p.e.k.mu.Lock()
	p.e.k.pm.Remove(va, va+4<<10)
	p.e.k.mu.Unlock()
}

// drop frees page i from the cache.
func (p *fastPath) drop(i int) {
	k := p.e.k
	k.mu.Lock()
	k.freeObjectPagesLocked(p.r.o, mo.Offset(i)<<12, 4<<10)
	k.mu.Unlock()
}

// evictOne makes page i the clock's only candidate and reclaims it.
func (p *fastPath) evictOne(tb testing.TB, i int) {
	k := p.e.k
	k.mu.Lock()
	fi := k.pool.lookup(p.r.o.id, uint32(i))
	k.pool.frames[fi].flags &^= pgReferenced
	k.pm.ClearReferenced(p.r.Addr() + uint32(i)<<12)
	k.pool.hand = fi
	freed, _ := k.reclaimLocked(1, true)
	k.mu.Unlock()
	if freed != 1 {
		tb.Fatalf("evicted %d pages", freed)
	}
}

func newZeroFill(tb testing.TB, pages int) *fastPath {
	z, err := zerofill.New(mo.Size(pages) << 12)
	if err != nil {
		tb.Fatal(err)
	}
	return newFastPath(tb, z, pages)
}

func newRAM(tb testing.TB, pages int) *fastPath {
	init := make([]byte, pages<<12)
	for i := range init {
		init[i] = byte(i)
	}
	o, err := rampager.New(rampager.Config{Size: mo.Size(pages) << 12, Initial: init})
	if err != nil {
		tb.Fatal(err)
	}
	return newFastPath(tb, o, pages)
}

// TestFaultPathAllocatesNothing: a resident fault, a synchronous
// zero-fill fault, a synchronous pager round trip and the eviction of a
// clean page allocate nothing (the fault handler runs on g0).
func TestFaultPathAllocatesNothing(t *testing.T) {
	res := newZeroFill(t, 4)
	res.fault(t, 0)
	if n := testing.AllocsPerRun(100, func() { res.unmap(0); res.fault(t, 0) }); n != 0 {
		t.Errorf("resident fault: %v allocations", n)
	}
	zf := newZeroFill(t, 4)
	zf.fault(t, 1)
	if n := testing.AllocsPerRun(100, func() { zf.drop(1); zf.fault(t, 1) }); n != 0 {
		t.Errorf("zero-fill fault: %v allocations", n)
	}
	ram := newRAM(t, 4)
	ram.fault(t, 2)
	if n := testing.AllocsPerRun(100, func() { ram.drop(2); ram.fault(t, 2) }); n != 0 {
		t.Errorf("pager round trip: %v allocations", n)
	}
	buf := make([]byte, 4)
	if _, err := ram.r.ReadAt(buf, 2<<12+4); err != nil || buf[0] != 4 {
		t.Errorf("round trip data: %v %x", err, buf)
	}
	ev := newZeroFill(t, 4)
	ev.fault(t, 3)
	if n := testing.AllocsPerRun(100, func() { ev.evictOne(t, 3); ev.fault(t, 3) }); n != 0 {
		t.Errorf("clean eviction: %v allocations", n)
	}
	for _, p := range []*fastPath{res, zf, ram, ev} {
		p.e.check(t)
	}
}

var sink []byte

// copyBaseline measures a 4 KiB copy in the same benchmark run (the best
// of a few rounds of 20000 copies), in nanoseconds.
func copyBaseline(b *testing.B) float64 {
	src, dst := make([]byte, 4<<10), make([]byte, 4<<10)
	best := time.Duration(1 << 62)
	for round := 0; round < 5; round++ {
		t0 := time.Now()
		for i := 0; i < 20000; i++ {
			copy(dst, src)
		}
		best = min(best, time.Since(t0))
	}
	sink = dst
	return float64(best.Nanoseconds()) / 20000
}

func report(b *testing.B, base float64) {
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/base, "x4KiBcopy")
	b.ReportMetric(base, "ns/4KiBcopy")
}

// BenchmarkResidentFault: unmap a resident page and fault it back in.
func BenchmarkResidentFault(b *testing.B) {
	base := copyBaseline(b)
	p := newZeroFill(b, 4)
	p.fault(b, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.unmap(0)
		p.fault(b, 0)
	}
	report(b, base)
}

// BenchmarkZeroFillFault: a missing page of a zero-fill object.
func BenchmarkZeroFillFault(b *testing.B) {
	base := copyBaseline(b)
	p := newZeroFill(b, 4)
	p.fault(b, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.drop(0)
		p.fault(b, 0)
	}
	report(b, base)
}

// BenchmarkPagerRoundTrip: data_request, data_supply with its copy, retry.
func BenchmarkPagerRoundTrip(b *testing.B) {
	base := copyBaseline(b)
	p := newRAM(b, 4)
	p.fault(b, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.drop(0)
		p.fault(b, 0)
	}
	report(b, base)
}

// BenchmarkCleanEviction: the clock frees a clean page (the fault that
// brings it back is included; BenchmarkResidentFault's figure bounds it).
func BenchmarkCleanEviction(b *testing.B) {
	base := copyBaseline(b)
	p := newZeroFill(b, 4)
	p.fault(b, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.evictOne(b, 0)
		p.fault(b, 0)
	}
	report(b, base)
}

// TestResidentFaultCountsReachStats: the quick path's resident faults,
// counted apart in 32 bits, show in Stats as faults and resident faults,
// also across the move into the 64-bit counts at 1<<31.
func TestResidentFaultCountsReachStats(t *testing.T) {
	obj, err := zerofill.New(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	p := newFastPath(t, obj, 16)
	k := p.e.k
	p.fault(t, 0) // zero-filled, not resident
	before := k.Stats()
	p.unmap(0)
	p.fault(t, 0)
	s := k.Stats()
	if s.Faults-before.Faults != 1 || s.FaultsResident-before.FaultsResident != 1 {
		t.Fatalf("one resident fault: faults +%d, resident +%d", s.Faults-before.Faults, s.FaultsResident-before.FaultsResident)
	}
	k.mu.Lock()
	k.quickResident = 1<<31 - 1
	k.mu.Unlock()
	before = k.Stats()
	p.unmap(0)
	p.fault(t, 0)
	s = k.Stats()
	if s.Faults-before.Faults != 1 || s.FaultsResident-before.FaultsResident != 1 || k.quickResident != 0 {
		t.Fatalf("resident fault at the move: faults +%d, resident +%d, %d left apart",
			s.Faults-before.Faults, s.FaultsResident-before.FaultsResident, k.quickResident)
	}
}

// newAnon is a fastPath over anonymous memory (Allocate): pages never
// paged out are zero-filled by the kernel, without a pager call.
func newAnon(tb testing.TB, pages int) *fastPath {
	e := newEnv(tb, envOpt{ps: 4 << 10, frames: 64, windowMiB: 2, noPageout: true})
	r, err := e.k.Allocate(uint32(pages)<<12, MapOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return &fastPath{e: e, r: r}
}

// TestKernelZeroFillCountsReachStats: the quick path's zero-fills of
// anonymous memory, counted apart in 32 bits, show in Stats as faults,
// page-ins and zero-fills, also across the move into the 64-bit counts
// at 1<<31; the page reads zero, a write fault leaves it dirty, and the
// fault allocates nothing.
func TestKernelZeroFillCountsReachStats(t *testing.T) {
	p := newAnon(t, 8)
	k := p.e.k
	delta := func(before, s Stats) [3]uint64 {
		return [3]uint64{s.Faults - before.Faults, s.PageIns - before.PageIns, s.ZeroFills - before.ZeroFills}
	}
	before := k.Stats()
	p.fault(t, 0)
	if d := delta(before, k.Stats()); d != [3]uint64{1, 1, 1} {
		t.Fatalf("one zero-fill: faults, page-ins, zero-fills +%v, want +1 each", d)
	}
	k.mu.Lock()
	k.quickZeroFill = 1<<31 - 1
	k.mu.Unlock()
	before = k.Stats()
	p.fault(t, 1)
	if d := delta(before, k.Stats()); d != [3]uint64{1, 1, 1} || k.quickZeroFill != 0 {
		t.Fatalf("zero-fill at the move: +%v, %d left apart", d, k.quickZeroFill)
	}
	w := pmap.Fault{Addr: p.r.Addr() + 2<<12, Access: pmap.Write, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
	if r := k.HandleFault(&w, true); r != pmap.Retry {
		t.Fatalf("write fault: %v", r)
	}
	k.mu.Lock()
	fi := k.pool.lookup(p.r.o.id, 2)
	flags := k.pool.frames[fi].flags
	k.mu.Unlock()
	if flags&(pgDirty|pgReferenced) != pgDirty|pgReferenced {
		t.Fatalf("page after a write fault: flags %#x, want dirty and referenced", flags)
	}
	buf := make([]byte, 3<<12)
	if _, err := p.r.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	for i, b := range buf {
		if b != 0 {
			t.Fatalf("byte %d of a zero-filled page is %#x", i, b)
		}
	}
	if n := testing.AllocsPerRun(100, func() { p.drop(3); p.fault(t, 3) }); n != 0 {
		t.Errorf("kernel zero-fill fault: %v allocations", n)
	}
	p.e.check(t)
}
