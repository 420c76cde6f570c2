package defaultpager

import (
	"sync"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/store"
	"github.com/tamach/tamach/pmap"
	"github.com/tamach/tamach/vm"
)

// TestFaultSafeOnlySynchronousOverFaultSafeStores: objects of a
// synchronous pager over RAM or sealed RAM are mo.FaultSafe; those of an
// asynchronous pager, or of one with a file, device or SD store, are
// not; once an
// object has answered true, a store that is not fault-safe is refused.
func TestFaultSafeOnlySynchronousOverFaultSafeStores(t *testing.T) {
	forEachMode(t, func(t *testing.T, kind string, async bool) {
		p, id := newPager(t, Config{Async: async}, kind, 8)
		a := newAnon(t, p, 8*ps)
		want := !async && store.IsFaultSafe(newStore(t, kind, ps, 1))
		if fs := kind == "RAM" || kind == "Sealed" || kind == "SealedChaCha"; fs != store.IsFaultSafe(newStore(t, kind, ps, 1)) {
			t.Fatalf("store kind %s says fault-safe %v", kind, !fs)
		}
		if got := a.obj.(mo.FaultSafe).FaultSafe(); got != want {
			t.Fatalf("FaultSafe() = %v, want %v", got, want)
		}
		err := p.AddSegment(id, newStore(t, "File", ps, 4))
		if refused := err != nil; refused != want {
			t.Fatalf("adding a file store after FaultSafe() = %v: %v", want, err)
		}
	})
}

// TestVMCallsTheDefaultPagerInsideTheFaultHandler: vm makes data_request
// of a default-pager object inline in HandleFault, the pager reads the
// page from the store and supplies it inside the call, and the fault
// resolves in one try with the page's bytes (and its cluster's, over
// RAM); this on RAM and sealed stores. (The pattern of vm/faultsafe_test.go, through vm's public API.)
func TestVMCallsTheDefaultPagerInsideTheFaultHandler(t *testing.T) {
	for _, kind := range []string{"RAM", "Sealed"} {
		t.Run(kind, func(t *testing.T) {
			const frames = 16
			const size = 4 * frames * ps
			p, _ := newPager(t, Config{}, kind, size/ps)
			k := newKernel(t, frames, p)
			r, err := k.Allocate(size, vm.MapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for pg := 0; pg < size/ps; pg++ {
				if _, err := r.WriteAt(fill(byte(pg)), int64(pg*ps)); err != nil {
					t.Fatal(err)
				}
			}
			// Every page goes to the pager: the resident ones are clean
			// now, so the fault handler can drop one for the page-in.
			if err := r.Sync(0, size); err != nil {
				t.Fatal(err)
			}
			k.Quiesce()
			stored := map[mo.Offset]bool{}
			for _, o := range p.Objects() {
				pages, _ := p.ObjectPages(o.ID)
				for _, pi := range pages {
					stored[pi.Offset] = true
				}
			}
			if !stored[0] {
				t.Fatalf("page 0 was not paged out: %v", stored)
			}
			before := p.Stats().PageIns
			f := pmap.Fault{Addr: r.Addr(), Access: pmap.Read, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
			if res := k.HandleFault(&f, true); res != pmap.Retry {
				t.Fatalf("HandleFault on g0 = %v (%v), want Retry at once", res, k.LastUnhandled().Reason)
			}
			// The page's cluster comes with it: DefaultClusterPages
			// over RAM (a store.RunStore), one page over Sealed.
			want := uint64(1)
			if kind == "RAM" {
				want = DefaultClusterPages
			}
			if n := p.Stats().PageIns - before; n != want {
				t.Fatalf("%d page-ins inside HandleFault, want %d", n, want)
			}
			got := make([]byte, ps)
			if _, err := r.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if want := fill(0); string(got) != string(want) {
				t.Fatal("page 0 read back wrong after the inline page-in")
			}
			if err := k.CheckInvariants(); err != nil {
				t.Fatal(err)
			}
			checkInv(t, p)
		})
	}
}

// blockingControl is a FrameControl whose first DataSupply waits until
// release is closed, holding the pager's buffer meanwhile.
type blockingControl struct {
	*motest.FrameControl
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	supplied         []mo.Offset
}

func (c *blockingControl) DataSupply(offset mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	c.once.Do(func() { close(c.entered); <-c.release })
	c.mu.Lock()
	c.supplied = append(c.supplied, offset)
	c.mu.Unlock()
	return c.FrameControl.DataSupply(offset, data, lock, precious, reply)
}

// TestPageInNeverWaitsForABuffer: with every reserve buffer held by a
// page-in inside its data_supply, another data_request returns at once
// without an answer (it must never wait: it may be in the fault handler),
// and the page-in that gives its buffer back answers it; terminate drops
// what is still pending.
func TestPageInNeverWaitsForABuffer(t *testing.T) {
	p, _ := newPager(t, Config{Buffers: 1}, "RAM", 8)
	ctl := &blockingControl{FrameControl: motest.NewFrameControl(ps, nil),
		entered: make(chan struct{}), release: make(chan struct{})}
	obj, err := p.Create(ctl, 8*ps, ps)
	if err != nil {
		t.Fatal(err)
	}
	for pg := 0; pg < 3; pg++ {
		if err := obj.DataReturn(mo.Seqno(1+pg), ctl, mo.Offset(pg*ps), fill(byte(pg)), true, false); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error)
	go func() { done <- obj.DataRequest(4, ctl, 0, ps, mo.ProtRead) }()
	<-ctl.entered
	// The only buffer is held: these return without waiting.
	if err := obj.DataRequest(5, ctl, ps, 2*ps, mo.ProtRead); err != nil {
		t.Fatal(err)
	}
	ctl.mu.Lock()
	early := len(ctl.supplied)
	ctl.mu.Unlock()
	if early != 0 {
		t.Fatalf("%d pages supplied while the buffer was held", early)
	}
	close(ctl.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctl.mu.Lock()
	got := append([]mo.Offset(nil), ctl.supplied...)
	ctl.mu.Unlock()
	if len(got) != 3 || got[0] != 0 {
		t.Fatalf("supplied %v, want page 0, then pages 1 and 2 handed off", got)
	}
	if st := p.Stats(); st.Handoffs != 2 || st.PageIns != 3 {
		t.Fatalf("stats %+v, want 2 handoffs and 3 page-ins", st)
	}
	// Pending pages of a kernel that terminates are dropped, not answered.
	ctl2 := motest.NewFrameControl(ps, nil)
	obj2, _ := p.Create(ctl2, 8*ps, ps)
	blocker := &blockingControl{FrameControl: motest.NewFrameControl(ps, nil),
		entered: make(chan struct{}), release: make(chan struct{})}
	obj3, _ := p.Create(blocker, 8*ps, ps)
	obj3.DataReturn(1, blocker, 0, fill(9), true, false)
	go func() { done <- obj3.DataRequest(2, blocker, 0, ps, mo.ProtRead) }()
	<-blocker.entered
	obj2.DataRequest(1, ctl2, 0, ps, mo.ProtRead)
	terminated := make(chan error)
	go func() { terminated <- obj2.Terminate(2, ctl2) }()
	if err := <-terminated; err != nil {
		t.Fatal(err)
	}
	close(blocker.release)
	<-done
	if ctl2.Supplies+ctl2.Unavailable+ctl2.Errors != 0 {
		t.Fatalf("a terminated kernel was answered: %+v", ctl2)
	}
	checkInv(t, p)
}
