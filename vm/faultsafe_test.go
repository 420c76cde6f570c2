package vm

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/pmap"
)

// inHandler reports whether the caller runs inside the fault handler:
// HandleFault is on its stack. (A flag set around the handler would also
// see a call worker's call made meanwhile.)
func inHandler() bool {
	pc := make([]uintptr, 64)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".HandleFault") {
			return true
		}
		if !more {
			return false
		}
	}
}

// watchedObject records whether DataRequest ran inside the fault handler.
// Embedding the interface hides the pager's FaultSafe method unless
// faultSafe says otherwise.
type watchedObject struct {
	mo.Object
	calledInside, calledOutside atomic.Int32
}

func (w *watchedObject) DataRequest(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	if inHandler() {
		w.calledInside.Add(1)
	} else {
		w.calledOutside.Add(1)
	}
	return w.Object.DataRequest(seqno, ctl, off, n, desired)
}

type safeWatchedObject struct{ *watchedObject }

func (safeWatchedObject) FaultSafe() bool { return true }

// fault runs the handler for a read of va until it resolves, yielding
// between tries as the fault-yield trampoline makes a goroutine do.
func fault(t *testing.T, e *testEnv, va uint32) (tries int) {
	t.Helper()
	for tries = 1; tries < 100000; tries++ {
		f := pmap.Fault{Addr: va, Access: pmap.Read, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
		switch e.k.HandleFault(&f, false) {
		case pmap.Retry:
			return tries
		case pmap.Unhandled:
			t.Fatalf("fault at %#x unhandled: %v", va, e.k.LastUnhandled().Reason)
		}
		runtime.Gosched()
	}
	t.Fatalf("fault at %#x never resolved", va)
	return
}

// TestPagerNotFaultSafeIsCalledOutsideTheHandler: the fault handler calls
// a pager that is not mo.FaultSafe from a call worker, never itself
// (on the target the handler runs on the system stack, where such a
// pager's locks, channels or defers are fatal), and the faulting access
// waits for the answer; a fault-safe pager is called inside the handler
// and answered at once.
func TestPagerNotFaultSafeIsCalledOutsideTheHandler(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	inner, err := rampager.New(rampager.Config{Size: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	w := &watchedObject{Object: inner}
	r, err := e.k.Map(w, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tries := fault(t, e, r.Addr()); tries < 2 {
		t.Errorf("the fault resolved in %d try: it did not wait for a call worker", tries)
	}
	if w.calledInside.Load() != 0 || w.calledOutside.Load() != 1 {
		t.Errorf("data_request made %d times inside the handler, %d outside; want 0 and 1",
			w.calledInside.Load(), w.calledOutside.Load())
	}

	inner2, _ := rampager.New(rampager.Config{Size: 8 << 10})
	s := safeWatchedObject{&watchedObject{Object: inner2}}
	r2, err := e.k.Map(s, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tries := fault(t, e, r2.Addr()); tries != 1 {
		t.Errorf("a fault-safe pager's fault took %d tries, want 1", tries)
	}
	if s.calledInside.Load() != 1 || s.calledOutside.Load() != 0 {
		t.Errorf("fault-safe pager: data_request %d times inside the handler, %d outside; want 1 and 0",
			s.calledInside.Load(), s.calledOutside.Load())
	}
	e.check(t)
}

// pageOut sends page index of r's object to its pager and frees the frame,
// as eviction does.
func pageOut(t *testing.T, e *testEnv, r *Region, index uint32) {
	t.Helper()
	k := e.k
	k.mu.Lock()
	defer k.mu.Unlock()
	i := k.pool.lookup(r.o.id, index)
	if i < 0 {
		t.Fatalf("page %d is not resident", index)
	}
	if k.unmapPageLocked(r.o, index, true) {
		k.pool.frames[i].flags |= pgDirty
	}
	if freed, err := k.pageOutLocked(i, true, false); !freed || err != nil {
		t.Fatalf("page %d: the page-out kept the frame (%v)", index, err)
	}
}

// TestAllocateFaultsAreServedInline: anonymous memory's objects come from
// the default pager's Create, after the object is made; when the default
// pager's objects are mo.FaultSafe, a fault on a page that went out is
// answered inside the handler, at the first try.
func TestAllocateFaultsAreServedInline(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	r, err := e.k.Allocate(8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteAt([]byte{7}, 4<<10); err != nil {
		t.Fatal(err)
	}
	pageOut(t, e, r, 1)
	if tries := fault(t, e, r.Addr()+4<<10); tries != 1 {
		t.Errorf("a fault on a page that went out took %d tries, want 1", tries)
	}
	if s := e.k.Stats(); s.Yields != 0 || s.FaultsPager != 1 {
		t.Errorf("stats %+v: want one pager fault and no yield", s)
	}
	b := []byte{0}
	if _, err := r.ReadAt(b, 4<<10); err != nil || b[0] != 7 {
		t.Errorf("the page came back with %d (%v), want 7", b[0], err)
	}
	e.check(t)
}

// TestAnonymousPagesNeverPagedOutAreZeroFilled: a fault on anonymous
// memory whose page never went to the default pager is zero-filled by the
// kernel without a data_request (the pager has no data for it); once the
// page went out with data_initialize, the next fault asks the pager, and
// the data comes back.
func TestAnonymousPagesNeverPagedOutAreZeroFilled(t *testing.T) {
	trace := mo.NewTrace(64)
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16, trace: trace})
	r, err := e.k.Allocate(16<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tries := fault(t, e, r.Addr()+8<<10); tries != 1 {
		t.Errorf("a zero-fill fault took %d tries, want 1", tries)
	}
	if s := e.k.Stats(); s.ZeroFills != 1 || s.PageIns != 1 || s.DataRequests != 0 || s.FaultsPager != 0 {
		t.Fatalf("stats %+v: want one zero-fill, no data_request", s)
	}
	b := make([]byte, 4<<10)
	if _, err := r.ReadAt(b, 8<<10); err != nil {
		t.Fatal(err)
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d of a zero-filled page is %#x", i, c)
		}
	}
	// WriteAt takes the same way (pageLocked) as the fault handler.
	if _, err := r.WriteAt([]byte{9}, 4<<10+5); err != nil {
		t.Fatal(err)
	}
	if s := e.k.Stats(); s.ZeroFills != 2 || s.DataRequests != 0 {
		t.Fatalf("stats %+v: want two zero-fills, no data_request", s)
	}
	pageOut(t, e, r, 1)
	initialized := false
	for _, ev := range trace.Events(nil) {
		initialized = initialized || ev.Op == mo.OpDataInitialize && ev.Offset == 4<<10
	}
	if !initialized {
		t.Fatalf("the zero-filled page went out without data_initialize: %v", trace.Events(nil))
	}
	if tries := fault(t, e, r.Addr()+4<<10); tries != 1 {
		t.Errorf("a fault on a page that went out took %d tries, want 1", tries)
	}
	if s := e.k.Stats(); s.ZeroFills != 2 || s.DataRequests != 1 || s.FaultsPager != 1 {
		t.Fatalf("stats %+v: want the page that went out requested from the pager", s)
	}
	if _, err := r.ReadAt(b[:1], 4<<10+5); err != nil || b[0] != 9 {
		t.Fatalf("the page came back with %d (%v), want 9", b[0], err)
	}
	e.check(t)
}
