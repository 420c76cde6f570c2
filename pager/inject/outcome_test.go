package inject_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/defaultpager"
	"github.com/tamach/tamach/pager/inject"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/pager/store"
	"github.com/tamach/tamach/pmap"
	"github.com/tamach/tamach/vm"
)

// Each test gives one injected misbehaviour its defined outcome: the error
// a call returns, the fault resolution and LastUnhandled reason, and the
// counters (docs/failures.md lists them).

const objSize = 16 * ps

// ramObject is a RAM pager object whose page i is filled with byte i+1.
func ramObject(t testing.TB) *rampager.Object {
	t.Helper()
	init := make([]byte, objSize)
	for i := range init {
		init[i] = byte(i/ps + 1)
	}
	o, err := rampager.New(rampager.Config{Size: objSize, Initial: init})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mapWrapped(t testing.TB, e *env, s *inject.Schedule) (*inject.Object, *vm.Region) {
	t.Helper()
	w := inject.Wrap(ramObject(t), s)
	r, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return w, r
}

func readPage(t testing.TB, r *vm.Region, i int) ([]byte, error) {
	t.Helper()
	b := make([]byte, ps)
	_, err := r.ReadAt(b, int64(i*ps))
	return b, err
}

func wantPage(t testing.TB, r *vm.Region, i int, want byte) {
	t.Helper()
	b, err := readPage(t, r, i)
	if err != nil {
		t.Fatalf("page %d: %v", i, err)
	}
	if !bytes.Equal(b, page(want)) {
		t.Fatalf("page %d reads %#x..., want %#x", i, b[0], want)
	}
}

// TestErrorOnDataRequest: a refused data_request fails the page as
// data_error: ReadAt returns *vm.DataError (mo.KernMemoryError and the
// pager's code), a fault on it is Unhandled with ReasonDataError; the
// other pages are served.
func TestErrorOnDataRequest(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpDataRequest, inject.Error, inject.Error)
	_, r := mapWrapped(t, e, s)
	_, err := readPage(t, r, 0)
	var de *vm.DataError
	if !errors.As(err, &de) || !errors.Is(err, mo.KernMemoryError) || !errors.Is(err, mo.KernFailure) {
		t.Fatalf("ReadAt of a refused page: %v, want *vm.DataError with KERN_FAILURE", err)
	}
	if res, _ := e.fault(r.Addr()+ps, pmap.Read, untilAnswered); res != pmap.Unhandled || e.k.LastUnhandled().Reason != vm.ReasonDataError {
		t.Fatalf("fault on a refused page: %v, %v", res, e.k.LastUnhandled().Reason)
	}
	if rep := e.k.LastUnhandled(); rep.Addr != r.Addr()+ps {
		t.Errorf("report names %#x, want %#x", rep.Addr, r.Addr()+ps)
	}
	wantPage(t, r, 2, 3)
	if st := e.k.Stats(); st.DataRequests != 3 || st.Unhandled != 1 {
		t.Errorf("stats %+v: want 3 data requests, 1 unhandled", st)
	}
}

// TestErrorOnInit: a refused init makes Map fail with the pager's code and
// leaves nothing mapped.
func TestErrorOnInit(t *testing.T) {
	e := newEnv(t, 32, nil)
	w := inject.Wrap(ramObject(t), inject.NewSchedule(1).Then(mo.OpInit, inject.Error))
	if _, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{}); !errors.Is(err, mo.KernFailure) {
		t.Fatalf("Map: %v, want KERN_FAILURE", err)
	}
	r, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatalf("Map again: %v", err)
	}
	wantPage(t, r, 0, 1)
}

// TestErrorOnDataReturn: a refused data_return keeps the page, dirty: its
// data is not lost, Sync says the pager refused it (*vm.PageOutError with
// the pager's code) without asking for synchronize, and the page goes
// back at the next page-out.
func TestErrorOnDataReturn(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpDataReturn, inject.Error, inject.Error)
	w, r := mapWrapped(t, e, s)
	if _, err := r.WriteAt(page(0xaa), 0); err != nil {
		t.Fatal(err)
	}
	// Sync returns the dirty page: refused, kept dirty.
	var poe *vm.PageOutError
	if err := r.Sync(0, ps); !errors.As(err, &poe) || poe.Offset != 0 || !errors.Is(err, mo.KernFailure) {
		t.Fatalf("Sync: %v, want a *vm.PageOutError at 0 with KERN_FAILURE", err)
	}
	wantPage(t, r, 0, 0xaa)
	if err := r.Sync(0, ps); !errors.Is(err, mo.KernFailure) { // refused again
		t.Fatalf("Sync again: %v", err)
	}
	if err := r.Sync(0, ps); err != nil { // taken
		t.Fatal(err)
	}
	if s.CountOp(mo.OpDataReturn, inject.Error) != 2 || s.CountOp(mo.OpDataReturn, inject.Pass) != 1 {
		t.Fatalf("data_return: %d refused, %d taken; want 2, 1",
			s.CountOp(mo.OpDataReturn, inject.Error), s.CountOp(mo.OpDataReturn, inject.Pass))
	}
	if st := e.k.Stats(); st.PageOutsRefused != 2 || st.KeptPages != 0 {
		t.Fatalf("stats: %d page-outs refused, %d pages kept; want 2, 0", st.PageOutsRefused, st.KeptPages)
	}
	if n := s.CountOp(mo.OpSynchronize, inject.Pass); n != 1 {
		t.Fatalf("%d synchronize calls, want 1 (none after a refused page-out)", n)
	}
	b := make([]byte, ps)
	if _, err := w.Inner().(*rampager.Object).ReadAt(b, 0); err != nil || !bytes.Equal(b, page(0xaa)) {
		t.Fatalf("the pager holds %#x (%v), want 0xaa", b[0], err)
	}
}

// TestPagerRefusingEveryDataReturn: a pager that refuses every page-out,
// always. Each dirty page is offered MaxPageOutRefusals times, then kept:
// resident, dirty, readable, counted in Stats.KeptPages, and passed over
// by eviction, which frees the other objects' pages instead. Once only
// kept pages are left, a copying call that needs a frame returns
// vm.ErrPageOutRefused and a fault is Unhandled with
// vm.ReasonPageOutRefused, naming its address, rather than page-outs
// retried without end. When the pager takes the pages again, Sync
// returns them and the kernel goes on; no byte is lost.
func TestPagerRefusingEveryDataReturn(t *testing.T) {
	const frames, pages = 16, 32
	e := newEnv(t, frames, nil)
	s := inject.NewSchedule(1).Rate(inject.Error, 1000000).Only(mo.OpDataReturn)
	inner, err := rampager.New(rampager.Config{Size: pages * ps})
	if err != nil {
		t.Fatal(err)
	}
	w := inject.Wrap(inner, s)
	r, err := e.k.Map(w, pages*ps, 0, pages*ps, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.k.Map(ramObject(t), objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Dirty a few pages, then read another object twice over, through
	// fewer frames than it has pages: eviction must go on around the
	// pages whose page-out is refused.
	for i := 0; i < 4; i++ {
		if _, err := r.WriteAt(page(byte(0x80+i)), int64(i*ps)); err != nil {
			t.Fatal(err)
		}
	}
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < objSize/ps; i++ {
			wantPage(t, other, i, byte(i+1))
		}
	}
	// Dirty pages until no frame can be had.
	var full int
	for full = 4; full < pages; full++ {
		_, err := r.WriteAt(page(byte(0x80+full)), int64(full*ps))
		if err == nil {
			continue
		}
		if !errors.Is(err, vm.ErrPageOutRefused) || !errors.Is(err, vm.ErrNoMemory) {
			t.Fatalf("WriteAt page %d: %v, want vm.ErrPageOutRefused", full, err)
		}
		break
	}
	if full == pages {
		t.Fatalf("%d pages written through %d frames with every page-out refused", pages, frames)
	}
	st := e.k.Stats()
	// Every frame but the reserve (kept for page-outs) holds a kept page.
	if st.KeptPages != full || full+st.FreeFrames != frames || st.FreeFrames > 1 {
		t.Fatalf("stats %+v: want %d pages kept and only the reserve free", st, full)
	}
	if st.PageOutsRefused != uint64(vm.MaxPageOutRefusals*full) || s.CountOp(mo.OpDataReturn, inject.Error) != st.PageOutsRefused {
		t.Fatalf("%d page-outs refused (the pager counted %d), want %d: %d for each kept page",
			st.PageOutsRefused, s.CountOp(mo.OpDataReturn, inject.Error), vm.MaxPageOutRefusals*full, vm.MaxPageOutRefusals)
	}
	for i := 0; i < full; i++ {
		wantPage(t, r, i, byte(0x80+i))
	}
	va := r.Addr() + uint32(full)*ps
	if res, tries := e.fault(va, pmap.Read, untilAnswered); res != pmap.Unhandled {
		t.Fatalf("fault with only kept pages left: %v after %d tries, want Unhandled", res, tries)
	}
	if rep := e.k.LastUnhandled(); rep.Reason != vm.ReasonPageOutRefused || rep.Addr != va {
		t.Fatalf("report %+v, want %v at %#x", rep, vm.ReasonPageOutRefused, va)
	}
	if _, err := readPage(t, other, 0); !errors.Is(err, vm.ErrPageOutRefused) {
		t.Fatalf("ReadAt of another object with only kept pages left: %v, want vm.ErrPageOutRefused", err)
	}
	// A refused Sync keeps them; one the pager takes ends the state.
	var poe *vm.PageOutError
	if err := r.Sync(0, ps); !errors.As(err, &poe) {
		t.Fatalf("Sync while refused: %v, want a *vm.PageOutError", err)
	}
	s.Rate(inject.Error, 0)
	if err := r.Sync(0, pages*ps); err != nil {
		t.Fatalf("Sync once the pager takes page-outs: %v", err)
	}
	if st := e.k.Stats(); st.KeptPages != 0 {
		t.Fatalf("%d pages still kept after a Sync the pager took", st.KeptPages)
	}
	for i := full; i < pages; i++ {
		if _, err := r.WriteAt(page(byte(0x80+i)), int64(i*ps)); err != nil {
			t.Fatalf("WriteAt page %d after the Sync: %v", i, err)
		}
	}
	for i := 0; i < pages; i++ {
		wantPage(t, r, i, byte(0x80+i))
	}
	for i := 0; i < objSize/ps; i++ {
		wantPage(t, other, i, byte(i+1))
	}
}

// TestErrorOnSynchronize: Sync returns the pager's code.
func TestErrorOnSynchronize(t *testing.T) {
	e := newEnv(t, 32, nil)
	_, r := mapWrapped(t, e, inject.NewSchedule(1).Then(mo.OpSynchronize, inject.Error))
	if err := r.Sync(0, ps); !errors.Is(err, mo.KernFailure) {
		t.Fatalf("Sync: %v, want KERN_FAILURE", err)
	}
	if err := r.Sync(0, ps); err != nil {
		t.Fatalf("Sync again: %v", err)
	}
}

// wantFailed checks the outcome of a pager panic: the copying calls
// return *vm.PagerPanic, faults are Unhandled with ReasonTerminated, the
// counter says one panic; a second object keeps working.
func wantFailed(t *testing.T, e *env, r *vm.Region, op mo.Op) {
	t.Helper()
	e.k.Quiesce()
	_, err := readPage(t, r, 3)
	var pp *vm.PagerPanic
	if !errors.As(err, &pp) || pp.Op != op || !errors.Is(err, vm.ErrTerminated) || !errors.Is(err, mo.KernMemoryFailure) {
		t.Fatalf("ReadAt after a panic in %v: %v, want *vm.PagerPanic", op, err)
	}
	var inj *inject.Injected
	if v, ok := pp.Value.(*inject.Injected); !ok || v.Op != op {
		t.Fatalf("panic value %v (%T), want %T for %v", pp.Value, pp.Value, inj, op)
	}
	if res, _ := e.fault(r.Addr()+5*ps, pmap.Read, untilAnswered); res != pmap.Unhandled || e.k.LastUnhandled().Reason != vm.ReasonTerminated {
		t.Fatalf("fault after a panic: %v, %v", res, e.k.LastUnhandled().Reason)
	}
	if err := r.Sync(0, ps); !errors.Is(err, vm.ErrTerminated) {
		t.Fatalf("Sync after a panic: %v", err)
	}
	if st := e.k.Stats(); st.PagerPanics != 1 {
		t.Fatalf("PagerPanics %d, want 1", st.PagerPanics)
	}
	other, err := e.k.Map(ramObject(t), objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantPage(t, other, 7, 8)
	if err := other.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := r.Unmap(); err != nil {
		t.Fatalf("Unmap of a failed object: %v", err)
	}
}

// TestPanicInDataRequest: a pager that panics in data_request (made by the
// call workers for a fault, or by ReadAt) fails its object.
func TestPanicInDataRequest(t *testing.T) {
	for _, byFault := range []bool{true, false} {
		e := newEnv(t, 32, nil)
		_, r := mapWrapped(t, e, inject.NewSchedule(1).Then(mo.OpDataRequest, inject.Panic))
		if byFault {
			if res, _ := e.fault(r.Addr(), pmap.Read, untilAnswered); res != pmap.Unhandled ||
				e.k.LastUnhandled().Reason != vm.ReasonTerminated {
				t.Fatalf("fault whose data_request panicked: %v, %v", res, e.k.LastUnhandled().Reason)
			}
		} else if _, err := readPage(t, r, 0); !errors.As(err, new(*vm.PagerPanic)) {
			t.Fatalf("ReadAt whose data_request panicked: %v", err)
		}
		wantFailed(t, e, r, mo.OpDataRequest)
	}
}

// TestPanicInDataReturn: a panic in data_return (pageout, here Sync's)
// fails the object; the dirty page is dropped with it.
func TestPanicInDataReturn(t *testing.T) {
	e := newEnv(t, 32, nil)
	_, r := mapWrapped(t, e, inject.NewSchedule(1).Then(mo.OpDataReturn, inject.Panic))
	if _, err := r.WriteAt(page(0xaa), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(0, ps); !errors.Is(err, vm.ErrTerminated) {
		t.Fatalf("Sync whose data_return panicked: %v", err)
	}
	wantFailed(t, e, r, mo.OpDataReturn)
}

// TestPanicInInit: Map returns the *vm.PagerPanic.
func TestPanicInInit(t *testing.T) {
	e := newEnv(t, 32, nil)
	w := inject.Wrap(ramObject(t), inject.NewSchedule(1).Then(mo.OpInit, inject.Panic))
	_, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if pp := new(*vm.PagerPanic); !errors.As(err, pp) || (*pp).Op != mo.OpInit {
		t.Fatalf("Map whose init panicked: %v", err)
	}
	if st := e.k.Stats(); st.PagerPanics != 1 {
		t.Fatalf("PagerPanics %d", st.PagerPanics)
	}
	r, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatalf("Map again: %v", err)
	}
	wantPage(t, r, 1, 2)
}

// TestPanicInCreate: Allocate returns the *vm.PagerPanic.
func TestPanicInCreate(t *testing.T) {
	s := inject.NewSchedule(1).Then(mo.OpCreate, inject.Panic)
	e := newEnv(t, 32, inject.WrapDefault(mustDefault(t, nil), s))
	if _, err := e.k.Allocate(objSize, vm.MapOptions{}); !errors.As(err, new(*vm.PagerPanic)) {
		t.Fatalf("Allocate whose create panicked: %v", err)
	}
	r, err := e.k.Allocate(objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantPage(t, r, 0, 0)
}

// TestPanicInSynchronize: Sync returns the *vm.PagerPanic.
func TestPanicInSynchronize(t *testing.T) {
	e := newEnv(t, 32, nil)
	_, r := mapWrapped(t, e, inject.NewSchedule(1).Then(mo.OpSynchronize, inject.Panic))
	if err := r.Sync(0, ps); !errors.As(err, new(*vm.PagerPanic)) {
		t.Fatalf("Sync whose synchronize panicked: %v", err)
	}
	wantFailed(t, e, r, mo.OpSynchronize)
}

// TestPanicInTerminate: Unmap still succeeds; the panic is counted and
// the object forgotten.
func TestPanicInTerminate(t *testing.T) {
	e := newEnv(t, 32, nil)
	w, r := mapWrapped(t, e, inject.NewSchedule(1).Then(mo.OpTerminate, inject.Panic))
	wantPage(t, r, 0, 1)
	if err := r.Unmap(); err != nil {
		t.Fatalf("Unmap whose terminate panicked: %v", err)
	}
	if st := e.k.Stats(); st.PagerPanics != 1 {
		t.Fatalf("PagerPanics %d", st.PagerPanics)
	}
	// Mapped again, it is a new object for the kernel.
	r, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantPage(t, r, 1, 2)
}

// TestPanicInLockCompleted: the pager's lock_request is carried out and
// returns nil; the panic in the completion fails the object.
func TestPanicInLockCompleted(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpLockCompleted, inject.Panic)
	w, r := mapWrapped(t, e, s)
	wantPage(t, r, 0, 1)
	var ctl mo.Control
	for _, c := range controls(w) {
		ctl = c
	}
	if err := ctl.LockRequest(0, objSize, mo.ReturnDirty, true, mo.ProtNone, true); err != nil {
		t.Fatalf("LockRequest: %v", err)
	}
	wantFailed(t, e, r, mo.OpLockCompleted)
}

// TestPanicInFaultSafePagerStopsTheFaultHandler: a mo.FaultSafe pager is
// called inline by the fault handler, where a panic is not recovered: on
// the host it leaves HandleFault (on the target it stops the program, see
// vm's recover.go).
func TestPanicInFaultSafePagerStopsTheFaultHandler(t *testing.T) {
	e := newEnv(t, 32, nil)
	obj := panickingSafe{ramObject(t)}
	r, err := e.k.Map(obj, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if v := recover(); v != "fault-safe pager panics" {
			t.Fatalf("recovered %v, want the pager's panic", v)
		}
	}()
	e.fault(r.Addr(), pmap.Read, 10)
	t.Fatal("the fault handler returned")
}

type panickingSafe struct{ *rampager.Object }

func (panickingSafe) FaultSafe() bool { return true }
func (panickingSafe) DataRequest(mo.Seqno, mo.Control, mo.Offset, mo.Size, mo.Prot) error {
	panic("fault-safe pager panics")
}

// TestDelayedAnswer: an answer made later from a goroutine: the fault
// yields until it comes, then resolves; the data is right.
func TestDelayedAnswer(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpDataSupply, inject.Delay, inject.Delay)
	_, r := mapWrapped(t, e, s)
	if res, tries := e.fault(r.Addr(), pmap.Read, untilAnswered); res != pmap.Retry || tries < 2 {
		t.Fatalf("fault with a delayed answer: %v after %d tries", res, tries)
	}
	wantPage(t, r, 0, 1)
	wantPage(t, r, 1, 2)
	if s.Count(inject.Delay) != 2 || e.k.Stats().Yields == 0 {
		t.Fatalf("%d delays, %d yields", s.Count(inject.Delay), e.k.Stats().Yields)
	}
}

// TestDroppedAnswer: an answer that never comes leaves the access waiting
// (other pages are served meanwhile) until the pager destroys the object:
// the waiter then gets ErrTerminated and a fault ReasonTerminated.
func TestDroppedAnswer(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpDataSupply, inject.Drop)
	w, r := mapWrapped(t, e, s)
	errc := make(chan error, 1)
	go func() { _, err := readPage(t, r, 0); errc <- err }()
	// Page 1 is served while page 0 waits (its answer was dropped).
	waitFor(t, "the drop", func() bool { return s.Count(inject.Drop) != 0 })
	wantPage(t, r, 1, 2)
	select {
	case err := <-errc:
		t.Fatalf("ReadAt of a page whose answer was dropped returned: %v", err)
	default:
	}
	w.Destroy(errors.New("no answer"))
	if err := <-errc; !errors.Is(err, vm.ErrTerminated) {
		t.Fatalf("waiter after destroy: %v, want ErrTerminated", err)
	}
	if res, _ := e.fault(r.Addr(), pmap.Read, untilAnswered); res != pmap.Unhandled || e.k.LastUnhandled().Reason != vm.ReasonTerminated {
		t.Fatalf("fault after destroy: %v %v", res, e.k.LastUnhandled().Reason)
	}
}

// TestDuplicatedAnswer: the second of two identical answers is refused
// (KERN_MEMORY_PRESENT) and counted in Stats.Refused; the data is the
// first's.
func TestDuplicatedAnswer(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpDataSupply, inject.Duplicate)
	_, r := mapWrapped(t, e, s)
	wantPage(t, r, 0, 1)
	if _, err := r.WriteAt(page(0x77), 0); err != nil {
		t.Fatal(err)
	}
	wantPage(t, r, 0, 0x77)
	if st := e.k.Stats(); st.Refused != 1 || st.PageIns != 1 {
		t.Fatalf("stats %+v: want 1 refused, 1 page-in", st)
	}
}

// TestReorderedAnswers: answers held and made after later ones: every
// access gets its own page.
func TestReorderedAnswers(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(7).Rate(inject.Reorder, 500000).Only(mo.OpDataSupply)
	_, r := mapWrapped(t, e, s)
	done := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func(i int) {
			b, err := readPage(t, r, i)
			if err == nil && !bytes.Equal(b, page(byte(i+1))) {
				err = errors.New("wrong data")
			}
			done <- err
		}(i)
	}
	for i := 0; i < 16; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if s.Count(inject.Reorder) == 0 {
		t.Fatal("nothing was reordered")
	}
	if st := e.k.Stats(); st.Refused != 0 {
		t.Fatalf("reordered answers refused: %+v", st)
	}
}

// TestAnswerAfterTerminate: an answer delayed past terminate is refused
// with KERN_TERMINATED and counted.
func TestAnswerAfterTerminate(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpDataSupply, inject.Delay)
	w := inject.Wrap(ramObject(t), s)
	r, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ctl mo.Control
	for _, c := range controls(w) {
		ctl = c
	}
	go readPage(t, r, 0) // waits for the delayed answer, then fails
	waitFor(t, "the delay", func() bool { return s.Count(inject.Delay) != 0 })
	r.Unmap()
	w.Quiesce()
	if err := ctl.DataUnavailable(0, ps); !errors.Is(err, mo.KernTerminated) {
		t.Fatalf("answer after terminate: %v", err)
	}
	if st := e.k.Stats(); st.Refused < 1 {
		t.Fatalf("stats %+v: want refused answers", st)
	}
}

// mustDefault is a default pager over st (nil: 256 pages of RAM).
func mustDefault(t testing.TB, st store.Store) *defaultpager.Pager {
	t.Helper()
	if st == nil {
		ram, _ := store.NewRAM(make([]byte, 256*ps), ps)
		st = ram
	}
	p, err := defaultpager.NewOver(defaultpager.Config{}, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// evictAll pushes every page of r out by mapping and touching a second
// region as large as the pool.
func pressure(t testing.TB, e *env, frames int) {
	t.Helper()
	z, err := e.k.Allocate(uint32(frames)*ps, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < frames; i++ {
		if _, err := z.WriteAt([]byte{1}, int64(i*ps)); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Unmap(); err != nil {
		t.Fatal(err)
	}
}

// TestStoreFailures: a default pager over a store that fails. A failed
// read gives data_error (ReadAt: *vm.DataError wrapping store.ErrIO); a
// failed, short or full write refuses the page-out and the kernel keeps
// the page dirty, so every byte written reads back.
func TestStoreFailures(t *testing.T) {
	for _, kind := range []inject.Kind{inject.Error, inject.ShortWrite, inject.Full} {
		t.Run(kind.String(), func(t *testing.T) {
			s := inject.NewSchedule(3)
			st := inject.WrapStore(mustRAM(), s)
			e := newEnv(t, 16, mustDefault(t, st))
			r, err := e.k.Allocate(32*ps, vm.MapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 32; i++ {
				if _, err := r.WriteAt(page(byte(i+1)), int64(i*ps)); err != nil {
					t.Fatal(err)
				}
			}
			s.Then(inject.OpStoreWrite, kind, kind, kind, kind)
			pressure(t, e, 16)
			for i := 0; i < 32; i++ {
				wantPage(t, r, i, byte(i+1))
			}
			if s.Count(kind) != 4 {
				t.Fatalf("%d %v injected, want 4", s.Count(kind), kind)
			}
			if f := st.Faulty().Counts(); f.FailedWrites != 4 {
				t.Fatalf("store counts %+v", f)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		s := inject.NewSchedule(3)
		st := inject.WrapStore(mustRAM(), s)
		e := newEnv(t, 16, mustDefault(t, st))
		r, err := e.k.Allocate(32*ps, vm.MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 32; i++ {
			if _, err := r.WriteAt(page(byte(i+1)), int64(i*ps)); err != nil {
				t.Fatal(err)
			}
		}
		pressure(t, e, 16)
		s.Then(inject.OpStoreRead, inject.Error)
		errs := 0
		for i := 0; i < 32; i++ {
			b, err := readPage(t, r, i)
			switch {
			case err != nil:
				var de *vm.DataError
				if !errors.As(err, &de) || !errors.Is(err, store.ErrIO) {
					t.Fatalf("page %d: %v, want *vm.DataError with store.ErrIO", i, err)
				}
				errs++
			case !bytes.Equal(b, page(byte(i+1))):
				t.Fatalf("page %d reads %#x", i, b[0])
			}
		}
		if errs != 1 {
			t.Fatalf("%d pages in error, want 1", errs)
		}
	})
}

func mustRAM() store.Store {
	ram, _ := store.NewRAM(make([]byte, 256*ps), ps)
	return ram
}
