package vm

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/pager/zerofill"
	"github.com/tamach/tamach/pmap"
)

func TestBadInput(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 8, windowMiB: 2})
	k := e.k
	if _, err := New(Config{PageSize: 8 << 10}); !errors.Is(err, ErrConfig) {
		t.Errorf("page size 8 KiB: %v, want ErrConfig", err)
	}
	if _, err := k.Allocate(100, MapOptions{}); !errors.Is(err, ErrAlign) {
		t.Errorf("unaligned size: %v", err)
	}
	if _, err := k.Allocate(4<<10, MapOptions{Addr: testWindow + 1}); !errors.Is(err, ErrAlign) {
		t.Errorf("unaligned address: %v", err)
	}
	if _, err := k.Allocate(4<<10, MapOptions{Addr: testWindow + 2<<20}); !errors.Is(err, ErrRange) {
		t.Errorf("address outside the window: %v", err)
	}
	r, err := k.Allocate(16<<10, MapOptions{Addr: testWindow + 64<<10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Allocate(8<<10, MapOptions{Addr: testWindow + 72<<10}); !errors.Is(err, ErrOverlap) {
		t.Errorf("overlapping map: %v", err)
	}
	obj, _ := zerofill.New(64 << 10)
	if _, err := k.Map(obj, 64<<10, 32<<10, 64<<10, MapOptions{}); !errors.Is(err, ErrRange) {
		t.Errorf("map beyond the object: %v", err)
	}
	if _, err := r.ReadAt(make([]byte, 8), 16<<10-4); !errors.Is(err, ErrRange) {
		t.Errorf("read beyond the region: %v", err)
	}
	if err := r.Protect(1, 4<<10, mo.ProtRead); !errors.Is(err, ErrAlign) {
		t.Errorf("unaligned protect: %v", err)
	}
	// A fault outside every mapping is reported with its address.
	err = e.load(testWindow, make([]byte, 4))
	var fe *faultError
	if !errors.As(err, &fe) || fe.rep.Reason != ReasonNoMapping || fe.rep.Addr != testWindow {
		t.Errorf("load outside every mapping: %v, want a no-mapping report at %#x", err, testWindow)
	}
	// A write to a read-only range is a protection fault.
	if err := r.Protect(0, 4<<10, mo.ProtRead); err != nil {
		t.Fatal(err)
	}
	if err := e.store(r.Addr(), []byte{1}); !errors.As(err, &fe) || fe.rep.Reason != ReasonProtection {
		t.Errorf("store to a read-only page: %v", err)
	}
	if _, err := r.WriteAt([]byte{1}, 0); !errors.Is(err, ErrProtection) {
		t.Errorf("WriteAt to a read-only page: %v", err)
	}
	if err := e.store(r.Addr()+4<<10, []byte{1}); err != nil {
		t.Errorf("store to the writable rest: %v", err)
	}
	// Out of frames with every page wired: a clear error.
	big, err := k.Allocate(64<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Wire(0, 64<<10); !errors.Is(err, ErrNoMemory) {
		t.Errorf("wiring more than the pool: %v, want ErrNoMemory", err)
	}
	if _, err := r.ReadAt(make([]byte, 1), 12<<10); !errors.Is(err, ErrNoMemory) {
		t.Errorf("read with every frame wired: %v, want ErrNoMemory", err)
	}
	if err := e.load(r.Addr()+12<<10, make([]byte, 1)); !errors.As(err, &fe) || fe.rep.Reason != ReasonNoMemory {
		t.Errorf("fault with every frame wired: %v", err)
	}
	e.check(t)
	if err := big.Unmap(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(make([]byte, 1), 12<<10); err != nil {
		t.Errorf("read after unwiring: %v", err)
	}
	if err := big.Unmap(); !errors.Is(err, ErrUnmapped) {
		t.Errorf("second unmap: %v", err)
	}
	e.check(t)
}

// patternByte is the test pattern: distinct in every page and offset.
func patternByte(off int, round byte) byte { return byte(off>>12)*7 ^ byte(off) ^ round }

// TestObjectFourTimesThePool writes an object four times the frame pool
// from several goroutines through the fault handler, reads it back in two
// orders checking every byte, and checks the counts of page-ins, page-outs
// and evictions against each other and the frames in use.
func TestObjectFourTimesThePool(t *testing.T) {
	const frames, ps = 64, 4 << 10
	e := newEnv(t, envOpt{ps: ps, frames: frames, windowMiB: 2})
	size := 4 * frames * ps
	r, err := e.k.Allocate(uint32(size), MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 4
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1024)
			for off := w * 1024; off < size; off += writers * 1024 {
				for i := range buf {
					buf[i] = patternByte(off+i, 1)
				}
				if err := e.store(r.Addr()+uint32(off), buf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.check(t)
	buf := make([]byte, ps)
	verify := func(page int) {
		if err := e.load(r.Addr()+uint32(page*ps), buf); err != nil {
			t.Fatal(err)
		}
		for i, b := range buf {
			if want := patternByte(page*ps+i, 1); b != want {
				t.Fatalf("byte %#x: %#x, want %#x", page*ps+i, b, want)
			}
		}
	}
	for p := 0; p < size/ps; p++ {
		verify(p)
	}
	for p := size/ps - 1; p >= 0; p -= 3 {
		verify(p)
	}
	for p := size/ps - 2; p >= 0; p -= 3 {
		verify(p)
	}
	for p := size/ps - 3; p >= 0; p -= 3 {
		verify(p)
	}
	e.check(t)
	s := e.k.Stats()
	t.Logf("page-ins %d, page-outs %d, evictions %d (clean drops %d), data requests %d, faults %d, yields %d",
		s.PageIns, s.PageOuts, s.Evictions, s.CleanDrops, s.DataRequests, s.Faults, s.Yields)
	inUse := uint64(s.Frames - s.FreeFrames)
	if s.PageIns-s.Evictions-s.Flushed != inUse {
		t.Errorf("page-ins %d - evictions %d - flushed %d != frames in use %d", s.PageIns, s.Evictions, s.Flushed, inUse)
	}
	if s.Evictions != s.CleanDrops+s.PageOuts {
		t.Errorf("evictions %d != clean drops %d + page-outs %d", s.Evictions, s.CleanDrops, s.PageOuts)
	}
	if s.PageOuts < uint64(size/ps-frames) {
		t.Errorf("%d page-outs: fewer than the %d pages that cannot all stay", s.PageOuts, size/ps-frames)
	}
	if s.PageIns < uint64(2*size/ps) {
		t.Errorf("%d page-ins for %d pages read back twice from a pool a quarter their size", s.PageIns, size/ps)
	}
	if s.Refused != 0 || s.Unhandled != 0 {
		t.Errorf("refused %d, unhandled %d", s.Refused, s.Unhandled)
	}
}

// gatedPager answers data requests only when the test says so, from its
// own goroutine.
type gatedPager struct {
	*rampager.Object
	requests chan request
	ctl      chan mo.Control
}

func (g *gatedPager) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	g.requests <- request{op: mo.OpDataRequest, seq: seq, off: off, len: n, desired: desired}
	select {
	case g.ctl <- ctl:
	default:
	}
	return nil
}

// TestPagerAnswersLaterWhileOthersRun faults on a page whose pager answers
// from its own goroutine only after another goroutine has made progress
// while the faulting one waits; the fault then completes with the data.
func TestPagerAnswersLaterWhileOthersRun(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16, windowMiB: 2})
	init := bytes.Repeat([]byte{0x5a}, 64<<10)
	ro, err := rampager.New(rampager.Config{Size: 64 << 10, Initial: init})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedPager{Object: ro, requests: make(chan request, 4), ctl: make(chan mo.Control, 1)}
	r, err := e.k.Map(g, 64<<10, 0, 64<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	got := make([]byte, 8)
	go func() { done <- e.load(r.Addr()+8<<10, got) }()
	req := <-g.requests
	ctl := <-g.ctl
	// Another goroutine makes measured progress while the load waits.
	progress := make(chan int)
	go func() {
		n := 0
		for i := 0; i < 1000; i++ {
			n += i
		}
		progress <- n
	}()
	if n := <-progress; n != 499500 {
		t.Fatalf("progress %d", n)
	}
	select {
	case err := <-done:
		t.Fatalf("load finished before the pager answered: %v", err)
	default:
	}
	answered := make(chan error)
	go func() { answered <- ctl.DataSupply(req.off, init[:req.len], mo.ProtNone, false, false) }()
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil || !bytes.Equal(got, init[:8]) {
		t.Fatalf("load: %v, %x", err, got)
	}
	if s := e.k.Stats(); s.Yields == 0 {
		t.Errorf("the waiting load never yielded")
	}
	// A fault on g0 that needs the pager to answer later is reported, not
	// a hang.
	f := pmap.Fault{Addr: r.Addr() + 12<<10, Access: pmap.Read, Kind: pmap.KindTranslation, Level: 2}
	if res := e.k.HandleFault(&f, true); res != pmap.Unhandled || e.k.LastUnhandled().Reason != ReasonCannotWait {
		t.Errorf("g0 fault on an asynchronous pager: %v (%v), want unhandled, cannot wait", res, e.k.LastUnhandled().Reason)
	}
	<-g.requests
	e.check(t)
}

// coherentPager keeps several kernels coherent: before it gives a range
// to one kernel it takes it back from the others with lock_request
// (return dirty, flush), so at most one kernel holds any byte.
type coherentPager struct {
	mu    sync.Mutex
	data  []byte
	ctls  map[mo.Control]mo.Size
	locks int
}

func (c *coherentPager) Init(seq mo.Seqno, ctl mo.Control, ps mo.Size) error {
	c.mu.Lock()
	c.ctls[ctl] = ps
	c.mu.Unlock()
	return ctl.Ready(mo.Attributes{CopyStrategy: mo.CopyDelay})
}

func (c *coherentPager) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	c.mu.Lock()
	var others []mo.Control
	var sizes []mo.Size
	for o, ps := range c.ctls {
		if o != ctl {
			others, sizes = append(others, o), append(sizes, ps)
		}
	}
	c.mu.Unlock()
	for i, o := range others {
		ps := mo.Offset(sizes[i])
		lo, hi := off&^(ps-1), (off+mo.Offset(n)+ps-1)&^(ps-1)
		if err := o.LockRequest(lo, mo.Size(hi-lo), mo.ReturnDirty, true, mo.ProtNone, false); err != nil {
			return err
		}
		c.mu.Lock()
		c.locks++
		c.mu.Unlock()
	}
	c.mu.Lock()
	buf := append([]byte(nil), c.data[off:off+mo.Offset(n)]...)
	c.mu.Unlock()
	return ctl.DataSupply(off, buf, mo.ProtNone, false, false)
}

func (c *coherentPager) DataReturn(seq mo.Seqno, ctl mo.Control, off mo.Offset, d []byte, dirty, kc bool) error {
	c.mu.Lock()
	copy(c.data[off:], d)
	c.mu.Unlock()
	return nil
}

func (c *coherentPager) DataUnlock(mo.Seqno, mo.Control, mo.Offset, mo.Size, mo.Prot) error {
	return nil
}
func (c *coherentPager) Synchronize(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, f mo.SyncFlags) error {
	return ctl.SynchronizeCompleted(off, n)
}
func (c *coherentPager) Terminate(s mo.Seqno, ctl mo.Control) error {
	c.mu.Lock()
	delete(c.ctls, ctl)
	c.mu.Unlock()
	return nil
}
func (c *coherentPager) LockCompleted(mo.Seqno, mo.Control, mo.Offset, mo.Size) error { return nil }
func (c *coherentPager) SupplyCompleted(mo.Seqno, mo.Control, mo.Offset, mo.Size, error, mo.Offset) error {
	return nil
}
func (c *coherentPager) ChangeCompleted(mo.Seqno, mo.Control, mo.Attributes) error { return nil }

// TestTwoKernelsCoherentThroughLockRequest maps one object in a kernel
// with 4 KiB pages and one with 64 KiB pages; writes through either are
// seen through the other, the pager moving pages with lock_request.
func TestTwoKernelsCoherentThroughLockRequest(t *testing.T) {
	small := newEnv(t, envOpt{ps: 4 << 10, frames: 64, windowMiB: 2})
	large := newEnv(t, envOpt{ps: 64 << 10, frames: 8, windowMiB: 2})
	const size = 256 << 10
	c := &coherentPager{data: make([]byte, size), ctls: map[mo.Control]mo.Size{}}
	rs, err := small.k.Map(c, size, 0, size, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := large.k.Map(c, size, 0, size, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	envs := []*testEnv{small, large}
	regions := []*Region{rs, rl}
	for round := 0; round < 40; round++ {
		w := round % 2
		off := uint32(round*5000) % (size - 16)
		val := []byte{byte(round), byte(round + 1), byte(round + 2), 0xee}
		if err := envs[w].store(regions[w].Addr()+off, val); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 4)
		if err := envs[1-w].load(regions[1-w].Addr()+off, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, val) {
			t.Fatalf("round %d: kernel %d wrote %x at %#x, kernel %d reads %x", round, w, val, off, 1-w, got)
		}
		small.check(t)
		large.check(t)
	}
	if c.locks == 0 {
		t.Fatal("no lock_request was needed")
	}
	if err := rs.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := rl.Unmap(); err != nil {
		t.Fatal(err)
	}
	if len(c.ctls) != 0 {
		t.Errorf("%d controls not terminated", len(c.ctls))
	}
}

// TestDataErrorFailsAccessAndCopy checks that a page answered with
// data_error fails a load (reported) and ReadAt (an error that is
// KERN_MEMORY_ERROR and carries the pager's reason).
func TestDataErrorFailsAccessAndCopy(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16, windowMiB: 2})
	ro, _ := rampager.New(rampager.Config{Size: 64 << 10})
	g := &gatedPager{Object: ro, requests: make(chan request, 4), ctl: make(chan mo.Control, 1)}
	r, err := e.k.Map(g, 64<<10, 0, 64<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.ReadAt(make([]byte, 4), 4<<10); done <- err }()
	req := <-g.requests
	ctl := <-g.ctl
	if err := ctl.DataError(req.off, req.len, mo.KernAborted); err != nil {
		t.Fatal(err)
	}
	err = <-done
	if !errors.Is(err, mo.KernMemoryError) || !errors.Is(err, mo.KernAborted) {
		t.Errorf("ReadAt of a page in error: %v", err)
	}
	var fe *faultError
	if err := e.load(r.Addr()+4<<10, make([]byte, 4)); !errors.As(err, &fe) || fe.rep.Reason != ReasonDataError {
		t.Errorf("load of a page in error: %v", err)
	}
	// Answers nobody asked for are refused and counted.
	if err := ctl.DataSupply(8<<10, make([]byte, 4<<10), mo.ProtNone, false, false); err == nil {
		t.Error("unrequested data_supply accepted")
	}
	if s := e.k.Stats(); s.Refused != 1 {
		t.Errorf("refused %d, want 1", s.Refused)
	}
	e.check(t)
}

// TestWireSyncProtect: wired pages never fault and survive pressure; Sync
// returns dirty pages and waits for synchronize_completed.
func TestWireSyncProtect(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16, windowMiB: 2})
	init := bytes.Repeat([]byte{1}, 256<<10)
	ro, _ := rampager.New(rampager.Config{Size: 256 << 10, Initial: init})
	r, err := e.k.Map(ro, 256<<10, 0, 256<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Wire(0, 8<<10); err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteAt([]byte{9, 9}, 100); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(0, 8<<10); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 2)
	ro.ReadAt(back, 100)
	if !bytes.Equal(back, []byte{9, 9}) {
		t.Errorf("pager holds %x after Sync, want 0909", back)
	}
	// Pressure: read everything; the wired pages stay mapped.
	buf := make([]byte, 256<<10)
	if err := e.load(r.Addr(), buf); err != nil {
		t.Fatal(err)
	}
	if m, ok := e.k.pm.Lookup(r.Addr()); !ok || !m.Wired {
		t.Errorf("wired page not mapped wired after pressure")
	}
	before := e.k.Stats().Faults
	if err := e.load(r.Addr()+4<<10, back); err != nil || e.k.Stats().Faults != before {
		t.Errorf("access to a wired page faulted")
	}
	if err := r.Unwire(0, 8<<10); err != nil {
		t.Fatal(err)
	}
	e.check(t)
}
