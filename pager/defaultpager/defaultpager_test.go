package defaultpager

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/store"
)

const ps = 4 << 10

func fill(b byte) []byte {
	p := make([]byte, ps)
	for i := range p {
		p[i] = b ^ byte(i*13) ^ byte(i>>8)
	}
	return p
}

// anon is an object made by Create, with the seqnos of its one control.
type anon struct {
	t   testing.TB
	p   *Pager
	obj mo.DefaultObject
	ctl *motest.FrameControl
	s   mo.Seqno
}

func newAnon(t testing.TB, p *Pager, size mo.Size) *anon {
	t.Helper()
	ctl := motest.NewFrameControl(ps, nil)
	obj, err := p.Create(ctl, size, ps)
	if err != nil {
		t.Fatal(err)
	}
	return &anon{t: t, p: p, obj: obj, ctl: ctl, s: 1}
}

func (a *anon) put(page int, data []byte) error {
	s := a.s
	a.s++
	return a.obj.DataReturn(s, a.ctl, mo.Offset(page*ps), data, true, false)
}

// get requests a page and says how it was answered.
func (a *anon) get(page int) (data []byte, answer string) {
	a.t.Helper()
	before := *a.ctl
	s := a.s
	a.s++
	if err := a.obj.DataRequest(s, a.ctl, mo.Offset(page*ps), ps, mo.ProtRead); err != nil {
		a.t.Fatalf("data_request of page %d: %v", page, err)
	}
	switch {
	case a.ctl.Supplies > before.Supplies:
		return append([]byte(nil), a.ctl.Frame...), "supply"
	case a.ctl.Unavailable > before.Unavailable:
		return nil, "unavailable"
	case a.ctl.Errors > before.Errors:
		return nil, "error"
	}
	a.t.Fatalf("page %d not answered", page)
	return nil, ""
}

func (a *anon) want(page int, data []byte) {
	a.t.Helper()
	got, how := a.get(page)
	if how != "supply" || !bytes.Equal(got, data) {
		a.t.Fatalf("page %d: answered %s, data equal %v", page, how, bytes.Equal(got, data))
	}
}

func checkInv(t testing.TB, p *Pager) {
	t.Helper()
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// TestBackingStoreDeleteMovesEveryByte: the pages of a deleted store move
// to the remaining stores and every byte reads back, on every store kind.
func TestBackingStoreDeleteMovesEveryByte(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			p, low := newPager(t, Config{}, kind, 64)
			high, _ := p.BackingStoreCreate(5, 0)
			p.AddSegment(high, newStore(t, kind, ps, 32))
			a := newAnon(t, p, 64*ps)
			for i := 0; i < 40; i++ {
				if err := a.put(i, fill(byte(i))); err != nil {
					t.Fatal(err)
				}
			}
			if in, _ := p.BackingStoreInfo(high); in.FreePages != 0 {
				t.Fatalf("the high-priority store was not filled first: %+v", in)
			}
			if err := p.BackingStoreDelete(high); err != nil {
				t.Fatal(err)
			}
			checkInv(t, p)
			pages, _ := p.ObjectPages(a.obj.(*Object).ID())
			if len(pages) != 40 {
				t.Fatalf("%d pages listed, want 40", len(pages))
			}
			for _, pg := range pages {
				if pg.Store != low {
					t.Fatalf("page %#x still in store %d", pg.Offset, pg.Store)
				}
			}
			for i := 0; i < 40; i++ {
				a.want(i, fill(byte(i)))
			}
			if in, _ := p.BackingStoreInfo(low); in.FreePages != 24 {
				t.Fatalf("after the move: %+v, want 24 free", in)
			}
			if st := p.Stats(); st.Moved != 32 {
				t.Fatalf("moved %d, want 32", st.Moved)
			}
		})
	}
}

// TestBackingStoreDeleteUnreadablePageMovesNothing: a page that cannot be
// read cannot be moved: KERN_INVALID_ARGUMENT, nothing moved or lost.
func TestBackingStoreDeleteUnreadablePageMovesNothing(t *testing.T) {
	p, _ := newPager(t, Config{}, "RAM", 64)
	ram, _ := store.NewRAM(make([]byte, 16*ps), ps)
	faulty := store.NewFaulty(ram)
	high, _ := p.BackingStoreCreate(5, 0)
	p.AddSegment(high, faulty)
	a := newAnon(t, p, 64*ps)
	for i := 0; i < 10; i++ {
		a.put(i, fill(byte(i)))
	}
	id := a.obj.(*Object).ID()
	before, _ := p.ObjectPages(id)
	infoBefore := p.Info()
	faulty.FailSlot(7)
	err := p.BackingStoreDelete(high)
	if !errors.Is(err, mo.KernInvalidArgument) || !errors.Is(err, store.ErrIO) {
		t.Fatalf("delete with an unreadable page: %v", err)
	}
	after, _ := p.ObjectPages(id)
	if len(after) != len(before) || p.Info() != infoBefore {
		t.Fatal("a refused delete changed the pager")
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("a refused delete moved page %#x", before[i].Offset)
		}
	}
	checkInv(t, p)
	faulty.FailSlot(^uint64(0))
	for i := 0; i < 10; i++ {
		a.want(i, fill(byte(i)))
	}
	// A write that fails during the move: the same.
	faulty.FailWrites(0)
	ram2, _ := store.NewRAM(make([]byte, 64*ps), ps)
	f2 := store.NewFaulty(ram2)
	mid, _ := p.BackingStoreCreate(3, 0)
	p.AddSegment(mid, f2)
	lowID := p.stores[len(p.stores)-1].id
	p.BackingStoreDelete(lowID) // empty: succeeds
	f2.FailWrites(1)
	if err := p.BackingStoreDelete(high); !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("delete with a failing destination: %v", err)
	}
	checkInv(t, p)
	if err := p.BackingStoreDelete(high); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		a.want(i, fill(byte(i)))
	}
}

// TestSlotsByPriorityAndCluster: pages go to the store of highest
// priority; an object's neighbouring pages get neighbouring slots.
func TestSlotsByPriorityAndCluster(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := p.BackingStoreCreate(1, 0)
	hi, _ := p.BackingStoreCreate(9, 8*ps)
	p.AddRAM(lo, 64)
	p.AddRAM(hi, 64)
	if _, err := p.BackingStoreCreate(0, 3*ps); !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("cluster of 3 pages: %v", err)
	}
	a, b := newAnon(t, p, 64*ps), newAnon(t, p, 64*ps)
	// Interleave the two objects' page-outs, out of order.
	for _, i := range []int{3, 1, 0, 2, 7, 6, 5, 4} {
		a.put(i, fill(1))
		b.put(i, fill(2))
	}
	slotsOf := func(x *anon) []uint64 {
		pages, _ := p.ObjectPages(x.obj.(*Object).ID())
		var s []uint64
		for _, pg := range pages {
			if pg.Store != hi {
				t.Fatalf("page in store %d, want %d", pg.Store, hi)
			}
			s = append(s, pg.Slot)
		}
		return s
	}
	for _, s := range [][]uint64{slotsOf(a), slotsOf(b)} {
		if s[0]%8 != 0 {
			t.Fatalf("cluster starts at slot %d, not aligned", s[0])
		}
		for i := range s {
			if s[i] != s[0]+uint64(i) {
				t.Fatalf("slots %v are not adjacent", s)
			}
		}
	}
	checkInv(t, p)
	in := p.Info()
	if in.TotalSpace != 128*ps || in.FreeSpace != 112*ps {
		t.Fatalf("info %+v", in)
	}
	objs := p.Objects()
	if len(objs) != 2 || objs[0].Pages != 8 || !objs[0].Temporary || objs[0].Kernels != 1 {
		t.Fatalf("objects %+v", objs)
	}
	// Terminate frees a temporary object's slots.
	if err := a.obj.Terminate(a.s, a.ctl); err != nil {
		t.Fatal(err)
	}
	if p.Info().FreeSpace != 120*ps || len(p.Objects()) != 1 {
		t.Fatalf("after terminate: %+v", p.Info())
	}
	if _, err := p.ObjectPages(a.obj.(*Object).ID()); !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("pages of a terminated object: %v", err)
	}
	checkInv(t, p)
}

// TestAddSegmentOverlapRefused: a store already in use as a segment, a
// slot size other than the pager's, an unknown store: refused.
func TestAddSegmentOverlapRefused(t *testing.T) {
	p, _ := New(Config{})
	id, _ := p.BackingStoreCreate(0, 0)
	ram, _ := store.NewRAM(make([]byte, 8*ps), ps)
	if err := p.AddSegment(id, ram); err != nil {
		t.Fatal(err)
	}
	id2, _ := p.BackingStoreCreate(0, 0)
	odd, _ := store.NewRAM(make([]byte, 8*ps), 512)
	for _, c := range []struct {
		id mo.BackingStoreID
		st store.Store
	}{{id2, ram}, {id, ram}, {id2, odd}, {99, ram}} {
		if err := p.AddSegment(c.id, c.st); !errors.Is(err, mo.KernInvalidArgument) {
			t.Fatalf("add segment to %d: %v", c.id, err)
		}
	}
}

// TestReadErrorGivesDataError: a store read that fails answers data_error.
func TestReadErrorGivesDataError(t *testing.T) {
	p, _ := New(Config{})
	id, _ := p.BackingStoreCreate(0, 0)
	ram, _ := store.NewRAM(make([]byte, 8*ps), ps)
	f := store.NewFaulty(ram)
	p.AddSegment(id, f)
	a := newAnon(t, p, 16*ps)
	a.put(2, fill(2))
	f.FailReads(1)
	if _, how := a.get(2); how != "error" {
		t.Fatalf("failed read answered %s", how)
	}
	a.want(2, fill(2))
	if _, how := a.get(3); how != "unavailable" {
		t.Fatalf("page never stored answered %s", how)
	}
}

// TestTamperedSealedPageGivesDataError: a bit flipped in a sealed store
// gives data_error, never data.
func TestTamperedSealedPageGivesDataError(t *testing.T) {
	p, _ := New(Config{})
	id, _ := p.BackingStoreCreate(0, 0)
	inner := make([]byte, 8*store.InnerPageSize(ps))
	ram, _ := store.NewRAM(inner, store.InnerPageSize(ps))
	sealed, _ := store.NewSealedRandomKey(ram)
	p.AddSegment(id, sealed)
	a := newAnon(t, p, 16*ps)
	a.put(0, fill(9))
	a.want(0, fill(9))
	inner[100] ^= 1
	if _, how := a.get(0); how != "error" {
		t.Fatalf("tampered page answered %s", how)
	}
}

// TestFailedPageOutIsRefused: a write that fails or is short refuses the
// page-out with KERN_FAILURE, a slot taken for it is freed, and the pager
// keeps what it had; a full store refuses with KERN_RESOURCE_SHORTAGE.
func TestFailedPageOutIsRefused(t *testing.T) {
	p, id := newPager(t, Config{}, "RAM", 1)
	ram, _ := store.NewRAM(make([]byte, 4*ps), ps)
	f := store.NewFaulty(ram)
	hi, _ := p.BackingStoreCreate(1, 0)
	p.AddSegment(hi, f)
	a := newAnon(t, p, 16*ps)
	free := p.Info().FreeSpace
	f.FailWrites(1)
	err := a.put(0, fill(1))
	if mo.ReturnOf(err) != mo.KernFailure || !errors.Is(err, store.ErrIO) {
		t.Fatalf("failed write: %v", err)
	}
	if p.Info().FreeSpace != free {
		t.Fatal("a refused page-out kept its slot")
	}
	if _, how := a.get(0); how != "unavailable" {
		t.Fatalf("page whose page-out was refused answered %s", how)
	}
	a.put(0, fill(1))
	f.ShortWrites(1)
	if err := a.put(0, fill(2)); !errors.Is(err, store.ErrShortWrite) || mo.ReturnOf(err) != mo.KernFailure {
		t.Fatalf("short write: %v", err)
	}
	// The kernel kept the page dirty and returns it again.
	if err := a.put(0, fill(2)); err != nil {
		t.Fatal(err)
	}
	a.want(0, fill(2))
	f.SetFull(true)
	if err := a.put(1, fill(3)); !errors.Is(err, store.ErrFull) {
		t.Fatalf("device full: %v", err)
	}
	f.SetFull(false)
	for i := 1; i < 5; i++ {
		if err := a.put(i, fill(byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Every slot is used now (4 in hi, 1 in id).
	if err := a.put(5, fill(5)); !errors.Is(err, mo.KernResourceShortage) {
		t.Fatalf("no room: %v", err)
	}
	multi := append(fill(6), fill(7)...)
	if err := a.obj.DataReturn(a.s, a.ctl, 6*ps, multi, true, false); !errors.Is(err, mo.KernResourceShortage) {
		t.Fatalf("no room for two pages: %v", err)
	}
	a.s++
	if st := p.Stats(); st.RefusedPageOuts != 5 || st.WriteErrors != 3 {
		t.Fatalf("stats %+v", st)
	}
	checkInv(t, p)
	_ = id
}

// TestLargeKernelPages: a 64 KiB kernel's page is sixteen slots; parts
// never stored read as zeros.
func TestLargeKernelPages(t *testing.T) {
	p, _ := newPager(t, Config{}, "RAM", 64)
	ctl := motest.NewFrameControl(64<<10, nil)
	obj, err := p.Create(ctl, 256<<10, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat(fill(4), 16)
	if err := obj.DataReturn(1, ctl, 64<<10, big, true, false); err != nil {
		t.Fatal(err)
	}
	if err := obj.DataRequest(2, ctl, 64<<10, 64<<10, mo.ProtRead); err != nil || !bytes.Equal(ctl.Frame, big) {
		t.Fatalf("64 KiB page: %v", err)
	}
	if err := obj.DataRequest(3, ctl, 0, 64<<10, mo.ProtRead); err != nil || ctl.Unavailable != 1 {
		t.Fatalf("64 KiB page never stored: %v, %d unavailable", err, ctl.Unavailable)
	}
	if _, err := p.Create(ctl, 256<<10, 128<<10); !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("page size beyond MaxPageSize: %v", err)
	}
	if _, err := p.Create(ctl, 256<<10, 2<<10); !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("page size below the pager's: %v", err)
	}
}

// TestDataPathAllocatesNothing: page-in and page-out, plain and sealed.
func TestDataPathAllocatesNothing(t *testing.T) {
	for _, kind := range []string{"RAM", "Sealed"} {
		t.Run(kind, func(t *testing.T) {
			p, _ := newPager(t, Config{}, kind, 64)
			a := newAnon(t, p, 64*ps)
			data := fill(1)
			i := 0
			if n := testing.AllocsPerRun(200, func() {
				if err := a.put(i%32, data); err != nil {
					t.Fatal(err)
				}
				i++
			}); n != 0 {
				t.Errorf("%v allocations per page-out", n)
			}
			if n := testing.AllocsPerRun(200, func() {
				if err := a.obj.DataRequest(a.s, a.ctl, mo.Offset(i%32*ps), ps, mo.ProtRead); err != nil {
					t.Fatal(err)
				}
				a.s++
				i++
			}); n != 0 {
				t.Errorf("%v allocations per page-in", n)
			}
			if a.ctl.Supplies < 200 || !bytes.Equal(a.ctl.Frame, data) {
				t.Errorf("%d supplies", a.ctl.Supplies)
			}
		})
	}
}
