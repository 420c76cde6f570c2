package vm

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/defaultpager"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/pager/store"
	"github.com/tamach/tamach/pmap"
)

// Clustered page-ins (pageLocked): an object whose pager announces a
// cluster size (the default pager over a RAM store: 4 pages) is asked
// for the aligned cluster around a missing page with one data_request.

const clusterPS = 4 << 10

// countingRAM is a RAM store that counts its reads and, while
// blockWrites is set, makes each write say so on writing and wait for a
// send on blockWrites.
type countingRAM struct {
	*store.RAM
	mu                   sync.Mutex
	reads, runReads      int
	writing, blockWrites chan struct{}
}

func (s *countingRAM) ReadPage(slot uint64, p []byte) error {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.RAM.ReadPage(slot, p)
}

func (s *countingRAM) ReadPages(slot uint64, p []byte) error {
	s.mu.Lock()
	s.reads++
	s.runReads++
	s.mu.Unlock()
	return s.RAM.ReadPages(slot, p)
}

func (s *countingRAM) WritePage(slot uint64, p []byte) error {
	s.waitWrite()
	return s.RAM.WritePage(slot, p)
}

func (s *countingRAM) WritePages(slot uint64, p []byte) error {
	s.waitWrite()
	return s.RAM.WritePages(slot, p)
}

func (s *countingRAM) waitWrite() {
	if s.blockWrites != nil {
		s.writing <- struct{}{}
		<-s.blockWrites
	}
}

func (s *countingRAM) count() (reads, runReads int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.runReads
}

func clusterByte(pg, i int, round byte) byte { return byte(pg*7+i) ^ round }

func clusterPage(pg int, round byte) []byte {
	b := make([]byte, clusterPS)
	for i := range b {
		b[i] = clusterByte(pg, i, round)
	}
	return b
}

// clusterPager is a default pager with one store, a countingRAM of
// pages slots: its cluster size is chosen from the store (4 pages).
func clusterPager(t testing.TB, pages int) (*defaultpager.Pager, *countingRAM) {
	t.Helper()
	return clusterPagerOf(t, pages, 0)
}

// clusterMapped is a kernel of 4 KiB pages and 64 frames with a trace,
// no pageout goroutine, and clusterPager's pager as its default pager,
// with an object of pages pages stored there (storedObject) mapped
// whole.
func clusterMapped(t *testing.T, pages int) (*mo.Trace, *testEnv, *Region, *countingRAM) {
	t.Helper()
	tr := mo.NewTrace(256)
	p, st := clusterPager(t, 64)
	e := newEnv(t, envOpt{ps: clusterPS, frames: 64, trace: tr, noPageout: true, dp: p})
	obj := storedObject(t, p, pages)
	r, err := e.k.Map(obj, mo.Size(pages)*clusterPS, 0, uint32(pages)*clusterPS, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr, e, r, st
}

// clusterPagerOf is clusterPager announcing clusters of clusterPages
// (defaultpager.Config.ClusterPages).
func clusterPagerOf(t testing.TB, pages, clusterPages int) (*defaultpager.Pager, *countingRAM) {
	t.Helper()
	ram, err := store.NewRAM(make([]byte, pages*clusterPS), clusterPS)
	if err != nil {
		t.Fatal(err)
	}
	st := &countingRAM{RAM: ram}
	p, err := defaultpager.NewOver(defaultpager.Config{ClusterPages: clusterPages}, st)
	if err != nil {
		t.Fatal(err)
	}
	return p, st
}

// storedObject makes an object of p of pages pages, every page stored
// (round 1), as a kernel that paged them out and terminated it left it.
func storedObject(t testing.TB, p *defaultpager.Pager, pages int) *defaultpager.Object {
	t.Helper()
	obj, err := p.ObjectCreate(mo.Size(pages * clusterPS))
	if err != nil {
		t.Fatal(err)
	}
	ctl := motest.NewFrameControl(clusterPS, nil)
	if err := obj.Init(0, ctl, clusterPS); err != nil {
		t.Fatal(err)
	}
	var data []byte
	for pg := 0; pg < pages; pg++ {
		data = append(data, clusterPage(pg, 1)...)
	}
	if err := obj.DataReturn(1, ctl, 0, data, true, false); err != nil {
		t.Fatal(err)
	}
	if err := obj.Terminate(2, ctl); err != nil {
		t.Fatal(err)
	}
	return obj
}

// requests are the data_requests in the trace since from, as
// [first page, pages].
func requests(tr *mo.Trace, from uint64) [][2]int {
	var out [][2]int
	for _, ev := range tr.Events(nil) {
		if ev.N >= from && ev.Op == mo.OpDataRequest {
			out = append(out, [2]int{int(ev.Offset / clusterPS), int(ev.Size / clusterPS)})
		}
	}
	return out
}

// frameFlags is the state of page pg of r's object; ok false if it is not
// resident.
func frameFlags(e *testEnv, r *Region, pg int) (flags uint16, ok bool) {
	e.k.mu.Lock()
	defer e.k.mu.Unlock()
	i := e.k.pool.lookup(r.o.id, uint32(pg))
	if i < 0 {
		return 0, false
	}
	return e.k.pool.frames[i].flags, true
}

func checkPage(t *testing.T, e *testEnv, r *Region, pg int, round byte) {
	t.Helper()
	got := make([]byte, clusterPS)
	if err := e.load(r.Addr()+uint32(pg*clusterPS), got); err != nil {
		t.Fatalf("page %d: %v", pg, err)
	}
	if want := clusterPage(pg, round); !bytes.Equal(got, want) {
		t.Fatalf("page %d: not the data of round %d", pg, round)
	}
}

// TestClusterOneRequestOneStoreCall: a read fault on page 5 of an object
// whose pages are all stored asks for pages 4-7 with one data_request,
// which the pager reads with one store call; the other three pages are
// resident, clean and unreferenced, and touching them takes no call.
// The clock frees them first: with the hand at the start and only the
// cluster resident, reclaiming three frames drops exactly them.
func TestClusterOneRequestOneStoreCall(t *testing.T) {
	tr, e, r, st := clusterMapped(t, 16)
	mark := tr.Total()
	checkPage(t, e, r, 5, 1)
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{4, 4} {
		t.Fatalf("data_requests %v, want one of pages 4-7", got)
	}
	if reads, runs := st.count(); reads != 1 || runs != 1 {
		t.Fatalf("%d store reads (%d runs), want one run", reads, runs)
	}
	if s := e.k.dp.(*defaultpager.Pager).Stats(); s.PageIns != 4 {
		t.Fatalf("pager page-ins %d, want 4", s.PageIns)
	}
	for _, pg := range []int{4, 6, 7} {
		fl, ok := frameFlags(e, r, pg)
		if !ok || fl&(pgBusy|pgAbsent|pgDirty|pgPrecious|pgReferenced) != 0 {
			t.Fatalf("page %d: resident %v, flags %#x: want resident, clean and unreferenced", pg, ok, fl)
		}
	}
	e.k.mu.Lock()
	e.k.pool.hand = 0
	freed, _ := e.k.reclaimLocked(3, true)
	e.k.mu.Unlock()
	if freed != 3 {
		t.Fatalf("the clock freed %d frames, want 3", freed)
	}
	for pg := 4; pg < 8; pg++ {
		if _, ok := frameFlags(e, r, pg); ok != (pg == 5) {
			t.Fatalf("page %d resident %v after the clock: want only the touched page 5 kept", pg, ok)
		}
	}
	// Page 6 again: its cluster stops at the resident page 5, and page
	// 7 comes with it.
	mark = tr.Total()
	checkPage(t, e, r, 6, 1)
	checkPage(t, e, r, 7, 1)
	checkPage(t, e, r, 5, 1)
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{6, 2} {
		t.Fatalf("data_requests %v, want one of pages 6-7", got)
	}
	if s := e.k.Stats(); s.Refused != 0 {
		t.Fatalf("%d answers refused", s.Refused)
	}
	e.check(t)
}

// TestClusterLeavesResidentDirtyPage: page 2 of the cluster 0-3 is
// resident and dirty (written); the others are absent. A fault on page 1
// asks only for pages 0-1 (the cluster stops at a resident page), page 3
// later for itself alone; page 2 keeps the data written, stays dirty,
// and goes back to the pager with it.
func TestClusterLeavesResidentDirtyPage(t *testing.T) {
	tr, e, r, _ := clusterMapped(t, 8)
	if err := e.store(r.Addr()+2*clusterPS, clusterPage(2, 9)); err != nil {
		t.Fatal(err)
	}
	for _, pg := range []int{0, 1, 3} { // drop the clean pages the write's cluster brought
		if err := r.o.ctl.LockRequest(mo.Offset(pg*clusterPS), clusterPS, mo.ReturnNone, true, mo.ProtNone, false); err != nil {
			t.Fatal(err)
		}
	}
	for pg := 0; pg < 4; pg++ {
		if _, ok := frameFlags(e, r, pg); ok != (pg == 2) {
			t.Fatalf("page %d resident %v: want only page 2", pg, ok)
		}
	}
	mark := tr.Total()
	checkPage(t, e, r, 1, 1)
	checkPage(t, e, r, 3, 1)
	if got := requests(tr, mark); len(got) != 2 || got[0] != [2]int{0, 2} || got[1] != [2]int{3, 1} {
		t.Fatalf("data_requests %v, want pages 0-1, then page 3", got)
	}
	if fl, ok := frameFlags(e, r, 2); !ok || fl&pgDirty == 0 {
		t.Fatalf("page 2: resident %v flags %#x, want resident and dirty", ok, fl)
	}
	checkPage(t, e, r, 2, 9)
	checkPage(t, e, r, 0, 1)
	if s := e.k.Stats(); s.Refused != 0 {
		t.Fatalf("%d answers refused", s.Refused)
	}
	// Flushed, page 2 goes to the pager with the data written and comes
	// back with it.
	if err := r.o.ctl.LockRequest(0, 8*clusterPS, mo.ReturnDirty, true, mo.ProtNone, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := frameFlags(e, r, 2); ok {
		t.Fatal("page 2 still resident after the flush")
	}
	checkPage(t, e, r, 2, 9)
	checkPage(t, e, r, 3, 1)
	e.check(t)
}

// TestClusterLeavesPageBeingReturned: page 2 is being returned (busy, in
// the laundry: the store's write waits) when a read of page 1 asks for
// its cluster: the request covers pages 0-1 only, and page 2 keeps the
// data written.
func TestClusterLeavesPageBeingReturned(t *testing.T) {
	tr, e, r, st := clusterMapped(t, 8)
	if err := e.store(r.Addr()+2*clusterPS, clusterPage(2, 9)); err != nil {
		t.Fatal(err)
	}
	for _, pg := range []int{0, 1, 3} {
		if err := r.o.ctl.LockRequest(mo.Offset(pg*clusterPS), clusterPS, mo.ReturnNone, true, mo.ProtNone, false); err != nil {
			t.Fatal(err)
		}
	}
	st.writing, st.blockWrites = make(chan struct{}), make(chan struct{})
	synced := make(chan error, 1)
	go func() { synced <- r.Sync(2*clusterPS, clusterPS) }()
	<-st.writing // page 2 is in the pager's store write now
	if fl, ok := frameFlags(e, r, 2); !ok || fl&(pgBusy|pgLaundry) != pgBusy|pgLaundry {
		t.Fatalf("page 2: resident %v flags %#x, want busy in the laundry", ok, fl)
	}
	mark := tr.Total()
	read := make(chan error, 1)
	got := make([]byte, clusterPS)
	go func() { _, err := r.ReadAt(got, 1*clusterPS); read <- err }()
	// The read has prepared its request (it waits for the pager, whose
	// page-out holds its turn) before the write goes on.
	for {
		e.k.mu.Lock()
		prepared := r.o.calls.Load() >= 2
		e.k.mu.Unlock()
		if prepared {
			break
		}
		select {
		case err := <-read:
			t.Fatalf("the read of page 1 returned during the page-out of page 2: %v", err)
		default:
		}
		runtime.Gosched()
	}
	st.blockWrites <- struct{}{}
	st.writing, st.blockWrites = nil, nil
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, clusterPage(1, 1)) {
		t.Fatal("page 1: wrong data")
	}
	if req := requests(tr, mark); len(req) != 1 || req[0] != [2]int{0, 2} {
		t.Fatalf("data_requests %v, want pages 0-1", req)
	}
	checkPage(t, e, r, 2, 9)
	if s := e.k.Stats(); s.Refused != 0 {
		t.Fatalf("%d answers refused", s.Refused)
	}
	e.check(t)
}

// TestClusterFramesAboveTheLowMark: a cluster's other pages take frames
// above the low mark only. With every other frame dirty (the clock has
// nothing to drop without a page-out), a fault with two frames above the
// mark asks for its page and the one after it; with one, for its page
// alone, which still gets a frame above the reserve. With clean pages to
// drop, the clock makes room for the whole cluster, and no dirty page
// goes for it.
func TestClusterFramesAboveTheLowMark(t *testing.T) {
	tr := mo.NewTrace(256)
	const frames, reserve, low, high = 16, 2, 4, 8
	p, _ := clusterPager(t, 64)
	e := newEnv(t, envOpt{ps: clusterPS, frames: frames, trace: tr, noPageout: true, dp: p,
		reserve: reserve, low: low, high: high})
	obj := storedObject(t, p, 16)
	r, err := e.k.Map(obj, 16*clusterPS, 0, 16*clusterPS, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	anon, err := e.k.Allocate(16*clusterPS, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(pg int) {
		t.Helper()
		if err := e.store(anon.Addr()+uint32(pg*clusterPS), clusterPage(pg, 5)); err != nil {
			t.Fatal(err)
		}
	}
	free := func() int {
		e.k.mu.Lock()
		defer e.k.mu.Unlock()
		return e.k.pool.nfree
	}
	dirty := frames - low - 2
	for pg := 0; pg < dirty; pg++ {
		write(pg)
	}
	if n := free(); n != low+2 {
		t.Fatalf("%d frames free, want %d", n, low+2)
	}
	mark := tr.Total()
	checkPage(t, e, r, 1, 1) // its frame leaves low+1: one more above the mark
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{1, 2} {
		t.Fatalf("data_requests %v, want pages 1-2", got)
	}
	if err := r.o.ctl.LockRequest(0, 4*clusterPS, mo.ReturnNone, true, mo.ProtNone, false); err != nil {
		t.Fatal(err)
	}
	write(dirty) // low+1 free, nothing clean
	dirty++
	mark = tr.Total()
	checkPage(t, e, r, 5, 1) // low free after its frame: its page alone
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{5, 1} {
		t.Fatalf("data_requests %v, want page 5 alone", got)
	}
	if n := free(); n != low {
		t.Fatalf("%d frames free, want %d", n, low)
	}
	// The first six anonymous pages go to the pager and stay, clean; the
	// clock drops clean pages to make room for the cluster 8-11.
	if err := anon.Sync(0, 6*clusterPS); err != nil {
		t.Fatal(err)
	}
	outs := e.k.Stats().PageOuts
	mark = tr.Total()
	checkPage(t, e, r, 9, 1)
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{8, 4} {
		t.Fatalf("data_requests %v, want pages 8-11", got)
	}
	for pg := 6; pg < dirty; pg++ {
		if fl, ok := frameFlags(e, anon, pg); !ok || fl&pgDirty == 0 {
			t.Fatalf("anonymous page %d: resident %v flags %#x: a dirty page went for a cluster", pg, ok, fl)
		}
	}
	if n, s := free(), e.k.Stats(); n < low || s.PageOuts != outs {
		t.Fatalf("%d frames free (low mark %d), %d page-outs for the cluster", n, low, s.PageOuts-outs)
	}
	for pg := 0; pg < dirty; pg++ {
		got := make([]byte, clusterPS)
		if _, err := anon.ReadAt(got, int64(pg*clusterPS)); err != nil || !bytes.Equal(got, clusterPage(pg, 5)) {
			t.Fatalf("anonymous page %d: %v or wrong data", pg, err)
		}
	}
	e.check(t)
}

// TestClusterFaultAllocatesNothing: clustered page-ins through the fault
// handler, over an object four times the frames, with the clock dropping
// clean pages for the clusters, allocate nothing; every fault is served
// inside the handler (Retry) with its cluster.
func TestClusterFaultAllocatesNothing(t *testing.T) {
	const frames, pages = 16, 64
	p, _ := clusterPager(t, 2*pages)
	e := newEnv(t, envOpt{ps: clusterPS, frames: frames, noPageout: true, dp: p})
	obj := storedObject(t, p, pages)
	r, err := e.k.Map(obj, pages*clusterPS, 0, pages*clusterPS, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	fault := func() {
		f := pmap.Fault{Addr: r.Addr() + uint32(next*clusterPS+clusterPS), Access: pmap.Read,
			Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
		if res := e.k.HandleFault(&f, true); res != pmap.Retry {
			t.Fatalf("fault on page %d: %v (%v)", next*4+1, res, e.k.LastUnhandled().Reason)
		}
		next = (next + 4) % pages
	}
	for range pages / 4 { // every frame in use
		fault()
	}
	before := e.k.Stats()
	if n := testing.AllocsPerRun(100, fault); n != 0 {
		t.Errorf("clustered fault: %v allocations", n)
	}
	s := e.k.Stats()
	if req, ins := s.DataRequests-before.DataRequests, s.PageIns-before.PageIns; req != 101 || ins < 3*req {
		t.Errorf("%d data_requests, %d page-ins: want 101 requests of clusters", req, ins)
	}
	for pg := 0; pg < pages; pg++ {
		checkPage(t, e, r, pg, 1)
	}
	e.check(t)
}

// BenchmarkSequentialPageIn: per page, a read fault on the next page of
// an object four times the frames whose pages are all in the pager's
// RAM store, in order and round again, served inside the handler: with
// clusters of 1 a page-in per fault, with clusters of 4 a page-in of
// four pages for every fourth page and a resident fault for the others.
// x4KiBcopy is per page.
func BenchmarkSequentialPageIn(b *testing.B) {
	const frames, pages = 64, 256
	for _, cl := range []int{1, 4} {
		b.Run(fmt.Sprintf("cluster=%d", cl), func(b *testing.B) {
			base := copyBaseline(b)
			p, _ := clusterPagerOf(b, 2*pages, cl)
			e := newEnv(b, envOpt{ps: clusterPS, frames: frames, noPageout: true, dp: p})
			obj := storedObject(b, p, pages)
			r, err := e.k.Map(obj, pages*clusterPS, 0, pages*clusterPS, MapOptions{})
			if err != nil {
				b.Fatal(err)
			}
			f := pmap.Fault{Access: pmap.Read, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
			before := e.k.Stats()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.Addr = r.Addr() + uint32(i%pages*clusterPS)
				if res := e.k.HandleFault(&f, true); res != pmap.Retry {
					b.Fatalf("fault on page %d: %v (%v)", i%pages, res, e.k.LastUnhandled().Reason)
				}
			}
			b.StopTimer()
			report(b, base)
			s := e.k.Stats()
			b.ReportMetric(float64(s.DataRequests-before.DataRequests)/float64(b.N), "requests/page")
		})
	}
}

// TestClusterLeavesPreciousPage: a pager that supplies its pages precious
// (rampager) and asks for clusters of 4 (change_attributes): page 2 is
// resident, precious and written, pages 0, 1 and 3 were flushed (and
// returned, being precious). A fault on page 1 asks for pages 0-1 only;
// page 2 stays precious with the data written.
func TestClusterLeavesPreciousPage(t *testing.T) {
	tr := mo.NewTrace(256)
	e := newEnv(t, envOpt{ps: clusterPS, frames: 64, trace: tr, noPageout: true})
	var init []byte
	for pg := 0; pg < 8; pg++ {
		init = append(init, clusterPage(pg, 1)...)
	}
	obj, err := rampager.New(rampager.Config{Size: 8 * clusterPS, Initial: init, Precious: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.k.Map(obj, 8*clusterPS, 0, 8*clusterPS, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	attr, err := r.o.ctl.GetAttributes()
	if err != nil {
		t.Fatal(err)
	}
	attr.ClusterSize = 4 * clusterPS
	if err := r.o.ctl.ChangeAttributes(attr, false); err != nil {
		t.Fatal(err)
	}
	mark := tr.Total()
	if err := e.store(r.Addr()+2*clusterPS, clusterPage(2, 9)); err != nil {
		t.Fatal(err)
	}
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{0, 4} {
		t.Fatalf("data_requests %v, want one of pages 0-3", got)
	}
	for _, pg := range []int{0, 1, 3} {
		if err := r.o.ctl.LockRequest(mo.Offset(pg*clusterPS), clusterPS, mo.ReturnNone, true, mo.ProtNone, false); err != nil {
			t.Fatal(err)
		}
	}
	mark = tr.Total()
	checkPage(t, e, r, 1, 1)
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{0, 2} {
		t.Fatalf("data_requests %v, want pages 0-1", got)
	}
	if fl, ok := frameFlags(e, r, 2); !ok || fl&(pgPrecious|pgDirty) != pgPrecious|pgDirty {
		t.Fatalf("page 2: resident %v flags %#x, want precious and dirty", ok, fl)
	}
	checkPage(t, e, r, 2, 9)
	if s := e.k.Stats(); s.Refused != 0 {
		t.Fatalf("%d answers refused", s.Refused)
	}
	e.check(t)
}

// TestClusterLeavesAnonymousPagesNeverPagedOut: of anonymous memory over
// a default pager announcing clusters of 4, pages 4 and 5 were written
// and paged out, pages 6 and 7 never touched. A fault on page 4 asks the
// pager for pages 4-5 only: 6 and 7 are not the pager's (the existence
// map), and when touched they are zero-filled by the kernel, with no
// request.
func TestClusterLeavesAnonymousPagesNeverPagedOut(t *testing.T) {
	tr := mo.NewTrace(256)
	p, _ := clusterPager(t, 64)
	e := newEnv(t, envOpt{ps: clusterPS, frames: 64, trace: tr, noPageout: true, dp: p})
	r, err := e.k.Allocate(8*clusterPS, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pg := range []int{4, 5} {
		if err := e.store(r.Addr()+uint32(pg*clusterPS), clusterPage(pg, 3)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.o.ctl.LockRequest(0, 8*clusterPS, mo.ReturnDirty, true, mo.ProtNone, false); err != nil {
		t.Fatal(err)
	}
	for pg := 0; pg < 8; pg++ {
		if _, ok := frameFlags(e, r, pg); ok {
			t.Fatalf("page %d resident after the flush", pg)
		}
	}
	mark := tr.Total()
	checkPage(t, e, r, 4, 3)
	if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{4, 2} {
		t.Fatalf("data_requests %v, want one of pages 4-5", got)
	}
	checkPage(t, e, r, 5, 3)
	zeros := make([]byte, clusterPS)
	for _, pg := range []int{6, 7} {
		got := make([]byte, clusterPS)
		if err := e.load(r.Addr()+uint32(pg*clusterPS), got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, zeros) {
			t.Fatalf("page %d never written reads non-zero", pg)
		}
	}
	if got := requests(tr, mark); len(got) != 1 {
		t.Fatalf("data_requests %v after touching pages 5-7, want still the one", got)
	}
	e.check(t)
}

// TestClusterBehaviors: over a default pager announcing clusters of 4, a
// fault on page 5 asks for pages 4-7 with the default behavior, for page
// 5 alone with BehaviorRandom, and for pages 5-8 with
// BehaviorSequential; SetBehavior changes it for part of a region, ReadAt
// follows it as faults do, and a behavior out of range is refused.
func TestClusterBehaviors(t *testing.T) {
	for _, c := range []struct {
		b    Behavior
		want [2]int
	}{{BehaviorDefault, [2]int{4, 4}}, {BehaviorRandom, [2]int{5, 1}}, {BehaviorSequential, [2]int{5, 4}}} {
		t.Run(c.b.String(), func(t *testing.T) {
			tr, e, r, _ := clusterMapped(t, 16)
			if c.b != BehaviorDefault {
				if err := r.SetBehavior(4*clusterPS, 8*clusterPS, c.b); err != nil {
					t.Fatal(err)
				}
			}
			mark := tr.Total()
			checkPage(t, e, r, 5, 1)
			if got := requests(tr, mark); len(got) != 1 || got[0] != c.want {
				t.Fatalf("fault: data_requests %v, want %v", got, c.want)
			}
			// Page 13 is outside the range SetBehavior changed: default.
			mark = tr.Total()
			buf := make([]byte, 8)
			if _, err := r.ReadAt(buf, 13*clusterPS); err != nil {
				t.Fatal(err)
			}
			if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{12, 4} {
				t.Fatalf("ReadAt of page 13: data_requests %v, want pages 12-15", got)
			}
			if c.b == BehaviorRandom {
				mark = tr.Total()
				if _, err := r.ReadAt(buf, 9*clusterPS); err != nil {
					t.Fatal(err)
				}
				if got := requests(tr, mark); len(got) != 1 || got[0] != [2]int{9, 1} {
					t.Fatalf("ReadAt of page 9: data_requests %v, want page 9 alone", got)
				}
			}
			e.check(t)
		})
	}
	_, e, r, _ := clusterMapped(t, 8)
	if err := r.SetBehavior(0, clusterPS, behaviorCount); !errors.Is(err, ErrConfig) {
		t.Errorf("SetBehavior(%d) = %v, want ErrConfig", behaviorCount, err)
	}
	if err := r.SetBehavior(0, 16*clusterPS, BehaviorRandom); !errors.Is(err, ErrRange) {
		t.Errorf("SetBehavior beyond the region = %v, want ErrRange", err)
	}
	if _, err := e.k.Allocate(clusterPS, MapOptions{Behavior: behaviorCount}); !errors.Is(err, ErrConfig) {
		t.Errorf("Allocate with behavior %d = %v, want ErrConfig", behaviorCount, err)
	}
}
