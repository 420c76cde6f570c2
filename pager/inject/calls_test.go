package inject_test

import (
	"errors"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/inject"
	"github.com/tamach/tamach/pmap"
	"github.com/tamach/tamach/vm"
)

// The outcomes of Error and Panic on the calls the other tests do not
// reach: data_unlock, data_initialize, terminate, create, the
// completions, and data_return during terminate.

// control returns the control the kernel gave the wrapped object.
func control(t *testing.T, w *inject.Object) mo.Control {
	t.Helper()
	cs := controls(w)
	if len(cs) != 1 {
		t.Fatalf("%d controls, want 1", len(cs))
	}
	return cs[0]
}

// lockAgainstWrite makes the pager lock page 0 against writing, as a
// pager does with lock_request, once the page is resident.
func lockAgainstWrite(t *testing.T, w *inject.Object, r *vm.Region) {
	t.Helper()
	wantPage(t, r, 0, 1)
	if err := control(t, w).LockRequest(0, ps, mo.ReturnNone, false, mo.ProtWrite, false); err != nil {
		t.Fatal(err)
	}
}

// TestErrorOnDataUnlock: a pager that refuses data_unlock, always: the
// access the page's lock prohibits fails, once per data_unlock, instead
// of asking again without end (GNU Mach fails the fault with a memory
// error): WriteAt returns a *vm.UnlockError (errors.Is
// mo.KernMemoryError and the pager's code), a write fault is Unhandled
// with ReasonUnlockRefused naming the address; reads the lock allows go
// on; once the pager grants data_unlock, the write goes through.
func TestErrorOnDataUnlock(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Rate(inject.Error, 1000000).Only(mo.OpDataUnlock)
	w, r := mapWrapped(t, e, s)
	lockAgainstWrite(t, w, r)
	_, err := r.WriteAt(page(0x33), 0)
	var ue *vm.UnlockError
	if !errors.As(err, &ue) || ue.Offset != 0 || ue.Access&mo.ProtWrite == 0 ||
		!errors.Is(err, mo.KernMemoryError) || !errors.Is(err, mo.KernFailure) {
		t.Fatalf("WriteAt to a page whose data_unlock is refused: %v, want a *vm.UnlockError", err)
	}
	if n := s.CountOp(mo.OpDataUnlock, inject.Error); n != 1 {
		t.Fatalf("%d data_unlocks refused, want 1", n)
	}
	wantPage(t, r, 0, 1)
	if res, tries := e.fault(r.Addr(), pmap.Write, untilAnswered); res != pmap.Unhandled {
		t.Fatalf("write fault: %v after %d tries, want Unhandled", res, tries)
	}
	if rep := e.k.LastUnhandled(); rep.Reason != vm.ReasonUnlockRefused || rep.Addr != r.Addr() {
		t.Fatalf("report %+v, want %v at %#x", rep, vm.ReasonUnlockRefused, r.Addr())
	}
	if n := s.CountOp(mo.OpDataUnlock, inject.Error); n != 2 {
		t.Fatalf("%d data_unlocks refused, want 2", n)
	}
	s.Rate(inject.Error, 0)
	if _, err := r.WriteAt(page(0x33), 0); err != nil {
		t.Fatalf("WriteAt once the pager grants data_unlock: %v", err)
	}
	wantPage(t, r, 0, 0x33)
}

// TestPanicInDataUnlock: the object is failed.
func TestPanicInDataUnlock(t *testing.T) {
	e := newEnv(t, 32, nil)
	w, r := mapWrapped(t, e, inject.NewSchedule(1).Then(mo.OpDataUnlock, inject.Panic))
	lockAgainstWrite(t, w, r)
	if _, err := r.WriteAt(page(0x33), 0); !errors.As(err, new(*vm.PagerPanic)) {
		t.Fatalf("WriteAt whose data_unlock panicked: %v", err)
	}
	wantFailed(t, e, r, mo.OpDataUnlock)
}

// allocateWrapped allocates anonymous memory from a wrapped default
// pager and writes page 0 (0xaa), which the pager has never seen: its
// page-out is data_initialize.
func allocateWrapped(t *testing.T, s *inject.Schedule) (*env, *vm.Region) {
	t.Helper()
	e := newEnv(t, 32, inject.WrapDefault(mustDefault(t, nil), s))
	r, err := e.k.Allocate(objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WriteAt(page(0xaa), 0); err != nil {
		t.Fatal(err)
	}
	return e, r
}

// TestErrorOnDataInitialize: as a refused data_return: the page is kept,
// dirty; Sync returns a *vm.PageOutError; the next page-out goes through.
func TestErrorOnDataInitialize(t *testing.T) {
	s := inject.NewSchedule(1).Then(mo.OpDataInitialize, inject.Error)
	e, r := allocateWrapped(t, s)
	var poe *vm.PageOutError
	if err := r.Sync(0, ps); !errors.As(err, &poe) || !errors.Is(err, mo.KernFailure) {
		t.Fatalf("Sync whose data_initialize is refused: %v, want a *vm.PageOutError", err)
	}
	wantPage(t, r, 0, 0xaa)
	if err := r.Sync(0, ps); err != nil {
		t.Fatalf("Sync again: %v", err)
	}
	if s.CountOp(mo.OpDataInitialize, inject.Error) != 1 || s.CountOp(mo.OpDataInitialize, inject.Pass) != 1 {
		t.Fatalf("data_initialize: %d refused, %d taken; want 1, 1",
			s.CountOp(mo.OpDataInitialize, inject.Error), s.CountOp(mo.OpDataInitialize, inject.Pass))
	}
	if st := e.k.Stats(); st.PageOutsRefused != 1 {
		t.Fatalf("%d page-outs refused, want 1", st.PageOutsRefused)
	}
	wantPage(t, r, 0, 0xaa)
}

// TestPanicInDataInitialize: the object is failed, the page dropped with
// it.
func TestPanicInDataInitialize(t *testing.T) {
	e, r := allocateWrapped(t, inject.NewSchedule(1).Then(mo.OpDataInitialize, inject.Panic))
	if err := r.Sync(0, ps); !errors.Is(err, vm.ErrTerminated) {
		t.Fatalf("Sync whose data_initialize panicked: %v", err)
	}
	wantFailed(t, e, r, mo.OpDataInitialize)
}

// TestErrorOnDataReturnDuringTerminate: terminate is the object's last
// call: a dirty page whose data_return the pager refuses then has nobody
// to keep it and is dropped (Mach's memory_object_terminate); Unmap
// succeeds, the refusal is counted, terminate is still sent, and the
// object mapped again reads the pager's data.
func TestErrorOnDataReturnDuringTerminate(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpDataReturn, inject.Error)
	w, r := mapWrapped(t, e, s)
	if _, err := r.WriteAt(page(0xaa), 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Unmap(); err != nil {
		t.Fatalf("Unmap: %v", err)
	}
	e.k.Quiesce()
	if s.CountOp(mo.OpDataReturn, inject.Error) != 1 || s.CountOp(mo.OpTerminate, inject.Pass) != 1 {
		t.Fatalf("%d data_returns refused, %d terminates; want 1, 1",
			s.CountOp(mo.OpDataReturn, inject.Error), s.CountOp(mo.OpTerminate, inject.Pass))
	}
	if st := e.k.Stats(); st.PageOutsRefused != 1 {
		t.Fatalf("%d page-outs refused, want 1", st.PageOutsRefused)
	}
	r, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantPage(t, r, 0, 1)
}

// TestErrorOnTerminate: terminate is the last call and carries no data:
// Unmap returns nil, the object is forgotten, and mapping it again sends
// a new init.
func TestErrorOnTerminate(t *testing.T) {
	e := newEnv(t, 32, nil)
	s := inject.NewSchedule(1).Then(mo.OpTerminate, inject.Error)
	w, r := mapWrapped(t, e, s)
	wantPage(t, r, 0, 1)
	if err := r.Unmap(); err != nil {
		t.Fatalf("Unmap whose terminate is refused: %v", err)
	}
	r, err := e.k.Map(w, objSize, 0, objSize, vm.MapOptions{})
	if err != nil {
		t.Fatalf("Map again: %v", err)
	}
	wantPage(t, r, 1, 2)
	if n := s.CountOp(mo.OpInit, inject.Pass); n != 2 {
		t.Fatalf("%d inits, want 2", n)
	}
}

// TestErrorOnCreate: Allocate returns the pager's code; a later Allocate
// works.
func TestErrorOnCreate(t *testing.T) {
	s := inject.NewSchedule(1).Then(mo.OpCreate, inject.Error)
	e := newEnv(t, 32, inject.WrapDefault(mustDefault(t, nil), s))
	if _, err := e.k.Allocate(objSize, vm.MapOptions{}); !errors.Is(err, mo.KernFailure) {
		t.Fatalf("Allocate whose create is refused: %v, want KERN_FAILURE", err)
	}
	r, err := e.k.Allocate(objSize, vm.MapOptions{})
	if err != nil {
		t.Fatalf("Allocate again: %v", err)
	}
	wantPage(t, r, 0, 0)
}

// completions makes the pager's calls that a completion answers:
// lock_request, data_supply and change_attributes, each with reply.
var completions = []struct {
	name string
	op   mo.Op
	call func(ctl mo.Control) error
}{
	{"lock_completed", mo.OpLockCompleted, func(ctl mo.Control) error {
		return ctl.LockRequest(0, objSize, mo.ReturnDirty, false, mo.ProtNone, true)
	}},
	{"supply_completed", mo.OpSupplyCompleted, func(ctl mo.Control) error {
		// Page 9 was never requested: the supply is refused, and
		// supply_completed says so.
		if err := ctl.DataSupply(9*ps, page(9), mo.ProtNone, false, true); !errors.Is(err, mo.KernInvalidArgument) {
			return err
		}
		return nil
	}},
	{"change_completed", mo.OpChangeCompleted, func(ctl mo.Control) error {
		return ctl.ChangeAttributes(mo.Attributes{MayCache: true, CopyStrategy: mo.CopyDelay}, true)
	}},
}

// TestErrorOnCompletions: a completion carries no data and nothing waits
// for its result: the pager's call returns as if the completion had been
// taken, the refusal is only recorded, and the object keeps working.
func TestErrorOnCompletions(t *testing.T) {
	for _, c := range completions {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 32, nil)
			s := inject.NewSchedule(1).Then(c.op, inject.Error)
			w, r := mapWrapped(t, e, s)
			wantPage(t, r, 0, 1)
			if err := c.call(control(t, w)); err != nil {
				t.Fatalf("the pager's call: %v", err)
			}
			if n := s.CountOp(c.op, inject.Error); n != 1 {
				t.Fatalf("%d %v refused, want 1", n, c.op)
			}
			wantPage(t, r, 2, 3)
			if st := e.k.Stats(); st.PagerPanics != 0 {
				t.Fatalf("PagerPanics %d", st.PagerPanics)
			}
		})
	}
}

// TestPanicInCompletions: as TestPanicInLockCompleted for every
// completion: the pager's call returns, the object is failed.
func TestPanicInCompletions(t *testing.T) {
	for _, c := range completions {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 32, nil)
			w, r := mapWrapped(t, e, inject.NewSchedule(1).Then(c.op, inject.Panic))
			wantPage(t, r, 0, 1)
			if err := c.call(control(t, w)); err != nil {
				t.Fatalf("the pager's call: %v", err)
			}
			wantFailed(t, e, r, c.op)
		})
	}
}
