package nbd

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/defaultpager"
	"github.com/tamach/tamach/pager/store"
	"github.com/tamach/tamach/vm"
	"github.com/tamach/tamach/vm/vmtest"
)

// newKernel is a host vm kernel with dp as its default pager.
func newKernel(t testing.TB, frames int, dp mo.DefaultPager) *vm.Kernel {
	return vmtest.NewKernel(t, vmtest.Config{PageSize: ps, Frames: frames, DefaultPager: dp})
}

// newDefaultPager is a synchronous default pager with st as its one store.
func newDefaultPager(t testing.TB, st store.Store) *defaultpager.Pager {
	t.Helper()
	p, err := defaultpager.NewOver(defaultpager.Config{}, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// countingStore calls at(n) before the n-th page transfer (from 1).
type countingStore struct {
	store.Store
	n  atomic.Int64
	at func(n int64)
}

func (c *countingStore) ReadPage(slot uint64, p []byte) error {
	c.at(c.n.Add(1))
	return c.Store.ReadPage(slot, p)
}

func (c *countingStore) WritePage(slot uint64, p []byte) error {
	c.at(c.n.Add(1))
	return c.Store.WritePage(slot, p)
}

func vmPattern(off int, round byte) byte { return byte(off>>12)*11 ^ byte(off) ^ round }

// TestVMAnonymousMemoryOverNBDSurvivesServerRestarts: a vm kernel's
// anonymous memory, four times its frames, over the default pager on an
// NBD store served by qemu-nbd, written and read back twice; qemu-nbd is
// killed (SIGKILL) four times in the middle of the run, each time while
// the pager is making a page transfer, and started again once the client
// has failed to reconnect. Every byte reads back right, and the client
// reconnected four times.
func TestVMAnonymousMemoryOverNBDSurvivesServerRestarts(t *testing.T) {
	const frames = 64
	const size = 4 * frames * ps
	srv := startQemuNBD(t, size+64*ps)
	dialFailed := make(chan struct{}, 1)
	c := newClient(t, Config{Dial: srv.Dial, Export: srv.Export, Event: func(e Event) {
		if e == EventDialFailed {
			select {
			case dialFailed <- struct{}{}:
			default:
			}
		}
	}})
	kill := make(chan struct{}, 4)
	killAt := map[int64]bool{100: true, 300: true, 500: true, 700: true}
	cs := &countingStore{Store: c, at: func(n int64) {
		if killAt[n] {
			kill <- struct{}{}
		}
	}}
	killerDone := make(chan int)
	go func() {
		restarts := 0
		defer func() { killerDone <- restarts }()
		for range 4 {
			select {
			case <-kill:
			case <-time.After(30 * time.Second):
				return
			}
			srv.Kill()
			select {
			case <-dialFailed:
			case <-time.After(30 * time.Second):
				srv.Start()
				return
			}
			srv.Start()
			restarts++
		}
	}()
	p := newDefaultPager(t, cs)
	k := newKernel(t, frames, p)
	r, err := k.Allocate(size, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3000) // not a page: writes straddle pages
	page := make([]byte, ps)
	for round := byte(1); round <= 2; round++ {
		for off := 0; off < size; off += len(buf) {
			n := min(len(buf), size-off)
			for i := range buf[:n] {
				buf[i] = vmPattern(off+i, round)
			}
			if _, err := r.WriteAt(buf[:n], int64(off)); err != nil {
				t.Fatalf("round %d: write at %#x: %v", round, off, err)
			}
		}
		for pg := size/ps - 1; pg >= 0; pg-- {
			if _, err := r.ReadAt(page, int64(pg*ps)); err != nil {
				t.Fatalf("round %d: read page %d: %v", round, pg, err)
			}
			for i, b := range page {
				if want := vmPattern(pg*ps+i, round); b != want {
					t.Fatalf("round %d: byte %#x: %#x, want %#x", round, pg*ps+i, b, want)
				}
			}
		}
	}
	if n := cs.n.Load(); n <= 700 {
		t.Fatalf("only %d page transfers: the run ended before the fourth kill", n)
	}
	if restarts := <-killerDone; restarts != 4 {
		t.Fatalf("the server was restarted %d times, want 4", restarts)
	}
	if err := k.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	st, vs, pst := c.Stats(), k.Stats(), p.Stats()
	if st.Reconnects != 4 || pst.ReadErrors != 0 || pst.WriteErrors != 0 {
		t.Fatalf("client %+v, pager %+v: want 4 reconnects and no store error", st, pst)
	}
	t.Logf("vm page-ins %d page-outs %d; nbd reads %d writes %d, lost %d, retries %d, dial failures %d",
		vs.PageIns, vs.PageOuts, st.Reads, st.Writes, st.Lost, st.Retries, st.DialFailures)
}

// TestVMKeepsDirtyPagesWhenPageOutFails: while the server answers every
// write with EIO, Region.Sync's page-outs are refused (the default pager
// answers KERN_FAILURE) and nothing is written; vm keeps the pages dirty,
// so the next Sync, with the server healthy, sends every page again and
// the server then holds each one.
func TestVMKeepsDirtyPagesWhenPageOutFails(t *testing.T) {
	const pages = 8
	srv := newFakeServer(t, 64*ps)
	c := newClient(t, Config{Dial: srv.Dial})
	p := newDefaultPager(t, c)
	k := newKernel(t, 32, p)
	r, err := k.Allocate(pages*ps, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, pages*ps)
	for i := range data {
		data[i] = vmPattern(i, 5)
	}
	if _, err := r.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	srv.set(func(s *fakeServer) { s.writeErr = 5 })
	err = r.Sync(0, pages*ps)
	t.Logf("sync with failing writes: %v", err)
	srv.mu.Lock()
	w := srv.writes
	srv.mu.Unlock()
	if st := p.Stats(); w != 0 || st.RefusedPageOuts != pages || st.WriteErrors != pages {
		t.Fatalf("server writes %d, pager %+v: want %d refused page-outs and nothing written", w, st, pages)
	}
	srv.set(func(s *fakeServer) { s.writeErr = 0 })
	if err := r.Sync(0, pages*ps); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	w, disk := srv.writes, append([]byte(nil), srv.disk...)
	srv.mu.Unlock()
	if w != pages {
		t.Fatalf("%d pages written by the second sync, want %d: the pages did not stay dirty", w, pages)
	}
	for pg := 0; pg < pages; pg++ {
		if !bytes.Contains(disk, data[pg*ps:(pg+1)*ps]) {
			t.Fatalf("page %d is not on the server", pg)
		}
	}
	if err := k.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
