package defaultpager

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tamach/tamach/board/usdhc"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/store"
)

// countingCard is a failingCard that counts its device calls.
type countingCard struct {
	failingCard
	reads, writes int
}

func (c *countingCard) ReadBlocks(lba uint64, p []byte) error {
	c.reads++
	return c.failingCard.ReadBlocks(lba, p)
}

func (c *countingCard) WriteBlocks(lba uint64, p []byte) error {
	c.writes++
	return c.failingCard.WriteBlocks(lba, p)
}

// pageControl is a FrameControl that keeps each answer by page.
type pageControl struct {
	motest.FrameControl
	answer map[mo.Offset]string
	data   map[mo.Offset][]byte
}

func newPageControl() *pageControl {
	return &pageControl{FrameControl: *motest.NewFrameControl(ps, nil),
		answer: map[mo.Offset]string{}, data: map[mo.Offset][]byte{}}
}

func (c *pageControl) DataSupply(off mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	for i := 0; i < len(data); i += ps {
		c.answer[off+mo.Offset(i)] = "supply"
		c.data[off+mo.Offset(i)] = append([]byte(nil), data[i:i+ps]...)
	}
	return c.FrameControl.DataSupply(off, data, lock, precious, reply)
}

func (c *pageControl) DataUnavailable(off mo.Offset, length mo.Size) error {
	for i := mo.Offset(0); i < mo.Offset(length); i += ps {
		c.answer[off+i] = "unavailable"
	}
	return c.FrameControl.DataUnavailable(off, length)
}

func (c *pageControl) DataError(off mo.Offset, length mo.Size, reason error) error {
	for i := mo.Offset(0); i < mo.Offset(length); i += ps {
		c.answer[off+i] = "error"
	}
	return c.FrameControl.DataError(off, length, reason)
}

// clusterRig is an object of 16 pages over a Device store on a counting
// card.
type clusterRig struct {
	t    *testing.T
	p    *Pager
	card *countingCard
	obj  mo.DefaultObject
	ctl  *pageControl
	s    mo.Seqno
}

func newClusterRig(t *testing.T, cfg Config) *clusterRig {
	t.Helper()
	card := &countingCard{failingCard: failingCard{MemDevice: make([]byte, 64*ps)}}
	dev, err := store.NewDevice(card, 0, 0, ps)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	id, _ := p.BackingStoreCreate(0, 0)
	if err := p.AddSegment(id, dev); err != nil {
		t.Fatal(err)
	}
	ctl := newPageControl()
	obj, err := p.Create(ctl, 16*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	return &clusterRig{t: t, p: p, card: card, obj: obj, ctl: ctl, s: 1}
}

func pages(first byte, n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = append(b, fill(first+byte(i))...)
	}
	return b
}

func (r *clusterRig) put(page int, data []byte) error {
	r.s++
	return r.obj.DataReturn(r.s-1, r.ctl, mo.Offset(page*ps), data, true, false)
}

func (r *clusterRig) get(page, n int) {
	r.t.Helper()
	clear(r.ctl.answer)
	r.s++
	if err := r.obj.DataRequest(r.s-1, r.ctl, mo.Offset(page*ps), mo.Size(n*ps), mo.ProtRead); err != nil {
		r.t.Fatal(err)
	}
}

// want checks the answers to the last get: "supply" pages must carry
// fill(data byte).
func (r *clusterRig) want(page int, answers ...string) {
	r.t.Helper()
	for i, w := range answers {
		off := mo.Offset((page + i) * ps)
		if got := r.ctl.answer[off]; got != w {
			r.t.Fatalf("page %d answered %q, want %q", page+i, got, w)
		}
	}
	if len(r.ctl.answer) != len(answers) {
		r.t.Fatalf("%d answers, want %d", len(r.ctl.answer), len(answers))
	}
}

func (r *clusterRig) wantData(page int, first byte, n int) {
	r.t.Helper()
	for i := 0; i < n; i++ {
		if !bytes.Equal(r.ctl.data[mo.Offset((page+i)*ps)], fill(first+byte(i))) {
			r.t.Fatalf("page %d: wrong data", page+i)
		}
	}
}

// TestClusteredTransfersAreOneDeviceCall: a data_return of four pages
// into a Device store is one write of four neighbouring slots, and a
// data_request of the four pages one read, each page answered with its
// own data; a hole in the run splits it.
func TestClusteredTransfersAreOneDeviceCall(t *testing.T) {
	r := newClusterRig(t, Config{})
	if err := r.put(4, pages(40, 4)); err != nil {
		t.Fatal(err)
	}
	if r.card.writes != 1 {
		t.Fatalf("%d device writes for a four-page page-out", r.card.writes)
	}
	r.get(4, 4)
	r.want(4, "supply", "supply", "supply", "supply")
	r.wantData(4, 40, 4)
	if r.card.reads != 1 {
		t.Fatalf("%d device reads for a four-page page-in", r.card.reads)
	}
	if st := r.p.Stats(); st.PageOuts != 4 || st.PageIns != 4 {
		t.Fatalf("stats %+v", st)
	}
	// Page 9 never stored: pages 8, 10 and 11 go out as two runs (the
	// run of 8 ends at the hole), and come back as two reads.
	r.card.reads, r.card.writes = 0, 0
	if err := r.put(8, fill(80)); err != nil {
		t.Fatal(err)
	}
	if err := r.put(10, pages(100, 2)); err != nil {
		t.Fatal(err)
	}
	r.get(8, 4)
	r.want(8, "supply", "unavailable", "supply", "supply")
	r.wantData(8, 80, 1)
	r.wantData(10, 100, 2)
	if r.card.writes != 2 || r.card.reads != 2 {
		t.Fatalf("%d writes, %d reads", r.card.writes, r.card.reads)
	}
	// Rewriting pages that have their slots is one write too.
	r.card.writes = 0
	if err := r.put(4, pages(50, 4)); err != nil || r.card.writes != 1 {
		t.Fatalf("rewrite: %v, %d writes", err, r.card.writes)
	}
	r.get(4, 4)
	r.wantData(4, 50, 4)
	checkInv(t, r.p)
}

// TestFailedClusteredReadIsDataErrorForEveryPage: a failed read of a run
// answers data_error for every page of it and nothing else; the pages
// read back afterwards.
func TestFailedClusteredReadIsDataErrorForEveryPage(t *testing.T) {
	r := newClusterRig(t, Config{})
	if err := r.put(0, pages(1, 4)); err != nil {
		t.Fatal(err)
	}
	r.card.readErr = &usdhc.Error{Op: "read", Cmd: 18, Int: 1 << 21, Err: usdhc.ErrCRC}
	r.get(0, 4)
	r.want(0, "error", "error", "error", "error")
	if st := r.p.Stats(); st.ReadErrors != 1 || st.PageIns != 0 {
		t.Fatalf("stats %+v", st)
	}
	r.get(0, 4)
	r.want(0, "supply", "supply", "supply", "supply")
	r.wantData(0, 1, 4)
}

// TestFailedClusteredWriteRefusesEveryPage: a failed write of a run
// refuses the page-out with KERN_FAILURE, frees every slot taken for it
// (no page of the run reads as stored) and keeps the slots of pages
// stored before, whose kernel keeps them dirty and returns them again.
func TestFailedClusteredWriteRefusesEveryPage(t *testing.T) {
	r := newClusterRig(t, Config{})
	free := r.p.Info().FreeSpace
	r.card.writeErr = &usdhc.Error{Op: "write", Cmd: 25, Err: usdhc.ErrTimeout}
	err := r.put(0, pages(1, 4))
	if mo.ReturnOf(err) != mo.KernFailure || !errors.Is(err, store.ErrIO) || !errors.Is(err, usdhc.ErrTimeout) {
		t.Fatalf("a failed run write: %v", err)
	}
	if r.p.Info().FreeSpace != free {
		t.Fatal("a refused page-out kept slots")
	}
	r.get(0, 4)
	r.want(0, "unavailable", "unavailable", "unavailable", "unavailable")
	checkInv(t, r.p)

	// Pages 0..3 stored; a failed rewrite of 2..5 keeps 2 and 3's slots,
	// frees 4 and 5's, and the kernel's retry stores all.
	if err := r.put(0, pages(1, 4)); err != nil {
		t.Fatal(err)
	}
	stored := r.p.Info().FreeSpace
	r.card.writeErr = &usdhc.Error{Op: "write", Cmd: 25, Err: usdhc.ErrCRC}
	if err := r.put(2, pages(20, 4)); mo.ReturnOf(err) != mo.KernFailure || !errors.Is(err, usdhc.ErrCRC) {
		t.Fatalf("a failed run rewrite: %v", err)
	}
	if r.p.Info().FreeSpace != stored {
		t.Fatal("a refused rewrite changed the free space")
	}
	r.get(4, 2)
	r.want(4, "unavailable", "unavailable")
	if err := r.put(2, pages(20, 4)); err != nil {
		t.Fatal(err)
	}
	r.get(0, 6)
	r.wantData(0, 1, 2)
	r.wantData(2, 20, 4)
	if st := r.p.Stats(); st.WriteErrors != 2 || st.RefusedPageOuts != 2 {
		t.Fatalf("stats %+v", st)
	}
	checkInv(t, r.p)
}

// TestLargeKernelPageIsOneDeviceCall: a 16 KiB kernel page over a
// Device store is one device call each way, with no extra buffer.
func TestLargeKernelPageIsOneDeviceCall(t *testing.T) {
	card := &countingCard{failingCard: failingCard{MemDevice: make([]byte, 64*ps)}}
	dev, _ := store.NewDevice(card, 0, 0, ps)
	p, _ := New(Config{})
	t.Cleanup(p.Close)
	id, _ := p.BackingStoreCreate(0, 0)
	p.AddSegment(id, dev)
	ctl := motest.NewFrameControl(16<<10, nil)
	obj, err := p.Create(ctl, 64<<10, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	big := pages(3, 4)
	if err := obj.DataReturn(1, ctl, 16<<10, big, true, false); err != nil || card.writes != 1 {
		t.Fatalf("page-out: %v, %d writes", err, card.writes)
	}
	if err := obj.DataRequest(2, ctl, 16<<10, 16<<10, mo.ProtRead); err != nil || !bytes.Equal(ctl.Frame, big) || card.reads != 1 {
		t.Fatalf("page-in: %v, %d reads", err, card.reads)
	}
	card.readErr = &usdhc.Error{Op: "read", Cmd: 18, Err: usdhc.ErrCRC}
	if err := obj.DataRequest(3, ctl, 16<<10, 16<<10, mo.ProtRead); err != nil || ctl.Errors != 1 {
		t.Fatalf("failed page-in: %v, %d errors", err, ctl.Errors)
	}
}

// TestClusterNeedsAMultiPageBuffer: with reserve buffers of one page
// (MaxPageSize 4 KiB) a four-page request is read page by page, each
// from its own buffer.
func TestClusterNeedsAMultiPageBuffer(t *testing.T) {
	r := newClusterRig(t, Config{MaxPageSize: ps})
	if err := r.put(0, pages(1, 4)); err != nil || r.card.writes != 1 {
		t.Fatalf("page-out: %v, %d writes", err, r.card.writes)
	}
	r.get(0, 4)
	r.want(0, "supply", "supply", "supply", "supply")
	r.wantData(0, 1, 4)
	if r.card.reads != 4 {
		t.Fatalf("%d reads with one-page buffers", r.card.reads)
	}
}

// TestClusteredDataPathAllocatesNothing: four-page page-outs and
// page-ins over RAM (a RunStore) allocate nothing.
func TestClusteredDataPathAllocatesNothing(t *testing.T) {
	p, _ := newPager(t, Config{}, "RAM", 64)
	ctl := motest.NewFrameControl(ps, nil)
	obj, err := p.Create(ctl, 64*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	data := pages(1, 4)
	s, i := mo.Seqno(1), 0
	if n := testing.AllocsPerRun(100, func() {
		if err := obj.DataReturn(s, ctl, mo.Offset(i%16*4*ps), data, true, false); err != nil {
			t.Fatal(err)
		}
		s++
		i++
	}); n != 0 {
		t.Errorf("%v allocations per clustered page-out", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := obj.DataRequest(s, ctl, mo.Offset(i%16*4*ps), 4*ps, mo.ProtRead); err != nil {
			t.Fatal(err)
		}
		s++
		i++
	}); n != 0 {
		t.Errorf("%v allocations per clustered page-in", n)
	}
	if ctl.Supplies < 400 || !bytes.Equal(ctl.Frame, fill(4)) {
		t.Errorf("%d supplies", ctl.Supplies)
	}
}

// readyControl is a FrameControl that keeps the attributes of ready.
type readyControl struct {
	motest.FrameControl
	attr  mo.Attributes
	ready int
}

func (c *readyControl) Ready(attr mo.Attributes) error {
	c.attr = attr
	c.ready++
	return nil
}

// TestReadyAnnouncesClusterSize: the cluster size in ready, for Init and
// Create, per store kind, Config.ClusterPages, the store's own cluster
// size and the kernel's page size; malformed ClusterPages are refused.
func TestReadyAnnouncesClusterSize(t *testing.T) {
	for _, c := range []struct {
		name         string
		kind         string
		clusterPages int
		storeCluster mo.Size
		kps          mo.Size
		want         mo.Size
	}{
		{"RAM", "RAM", 0, 0, ps, DefaultClusterPages * ps},
		{"Device", "Device", 0, 0, ps, DefaultClusterPages * ps},
		{"Sealed", "Sealed", 0, 0, ps, 0},
		{"File", "File", 0, 0, ps, 0},
		{"RAM store of 8", "RAM", 0, 8 * ps, ps, 8 * ps},
		{"RAM told 1", "RAM", 1, 0, ps, 0},
		{"Sealed told 8", "Sealed", 8, 0, ps, 8 * ps},
		{"64 KiB kernel, clusters of 4", "RAM", 0, 0, 64 << 10, 0},
		{"64 KiB kernel, clusters of 32", "RAM", 32, 0, 64 << 10, 128 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(Config{ClusterPages: c.clusterPages})
			if err != nil {
				t.Fatal(err)
			}
			id, err := p.BackingStoreCreate(0, c.storeCluster)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.AddSegment(id, newStore(t, c.kind, ps, 64)); err != nil {
				t.Fatal(err)
			}
			ctl := &readyControl{FrameControl: *motest.NewFrameControl(c.kps, nil)}
			if _, err := p.Create(ctl, 16*c.kps, c.kps); err != nil {
				t.Fatal(err)
			}
			obj, err := p.ObjectCreate(16 * c.kps)
			if err != nil {
				t.Fatal(err)
			}
			ctl2 := &readyControl{FrameControl: *motest.NewFrameControl(c.kps, nil)}
			if err := obj.Init(0, ctl2, c.kps); err != nil {
				t.Fatal(err)
			}
			for _, r := range []*readyControl{ctl, ctl2} {
				if r.ready != 1 || r.attr.ClusterSize != c.want || r.attr.Check(c.kps) != nil {
					t.Fatalf("ready %d times, cluster size %#x (check %v), want once with %#x",
						r.ready, r.attr.ClusterSize, r.attr.Check(c.kps), c.want)
				}
			}
		})
	}
	// No store yet: one page.
	p, _ := New(Config{})
	ctl := &readyControl{FrameControl: *motest.NewFrameControl(ps, nil)}
	if _, err := p.Create(ctl, 16*ps, ps); err != nil || ctl.attr.ClusterSize != 0 {
		t.Fatalf("no store: %v, cluster size %#x", err, ctl.attr.ClusterSize)
	}
	for _, n := range []int{-1, 3, 2 * MaxClusterPages} {
		if _, err := New(Config{ClusterPages: n}); !errors.Is(err, mo.KernInvalidArgument) {
			t.Errorf("ClusterPages %d: %v, want KERN_INVALID_ARGUMENT", n, err)
		}
	}
}
