package vm

import (
	"fmt"

	"github.com/tamach/tamach/mo"
)

// A pager that panics.
//
// Every pager call the kernel makes on a goroutine goes through one of the
// guarded calls below: the call workers' data_request and
// data_unlock, data_request from a copying call (ReadAt, WriteAt, Wire),
// data_return and data_initialize (pageout, Sync, lock_request, terminate),
// init, create, terminate, synchronize and the completions (lock, supply,
// change). A panic in the pager is recovered there and turned into a
// *PagerPanic error for that call; the object is then failed, as if its
// pager had called Destroy with the panic as reason, except that no
// further call reaches the pager, not even terminate (a dead pager, as a
// dead memory-object port was in Mach):
//
//   - its pages are freed at once (dirty data it holds has nowhere to go
//     and is dropped; a page lent to it by a data_return in progress is
//     freed when that call ends), and the object is terminated from a
//     goroutine of its own (Quiesce waits for it);
//   - faults on its mappings are Unhandled with ReasonTerminated;
//   - ReadAt, WriteAt and Wire return the *PagerPanic (errors.Is
//     ErrTerminated and mo.KernMemoryFailure); Sync returns ErrTerminated;
//   - a refused init (Map) or create (Allocate) returns the *PagerPanic;
//   - Stats.PagerPanics counts the panics, and the trace records the call
//     with KERN_MEMORY_FAILURE;
//   - the pager's later calls on the control are refused with
//     KERN_TERMINATED and counted in Stats.Refused.
//
// Other objects, and the kernel's goroutines, keep running.
//
// Not guarded: data_request and data_unlock of a mo.FaultSafe pager made
// inline by the fault handler. On the target that call runs on the system
// stack (g0) with IRQs masked, where Go cannot recover a panic: the
// program stops with the runtime's report ("panic on system stack";
// TestTargetPanicInFaultSafePagerStopsTheProgram boots such a program). On
// the host, where the fault handler is an ordinary call, the panic goes up
// through HandleFault to its caller.

// PagerPanic is the error of a pager call that panicked.
type PagerPanic struct {
	Op    mo.Op // the call that panicked
	Value any   // what the pager panicked with
}

func (e *PagerPanic) Error() string {
	return fmt.Sprintf("vm: pager panicked in %v: %v", e.Op, e.Value)
}

// Unwrap gives mo.KernMemoryFailure (the object's data cannot be obtained)
// and ErrTerminated (the kernel terminated the object).
func (e *PagerPanic) Unwrap() []error { return []error{mo.KernMemoryFailure, ErrTerminated} }

// recovered turns a recovered panic of op on o into an error in *err and
// fails o. It must be deferred directly (recover works only there).
// Preconditions: k.mu is not held (no pager code runs with it held).
func (k *Kernel) recovered(o *object, op mo.Op, err *error) {
	v := recover()
	if v == nil {
		return
	}
	p := &PagerPanic{Op: op, Value: v}
	*err = p
	k.failObject(o, p)
}

// failObject marks o failed after its pager panicked (see above).
// Preconditions: k.mu is not held.
func (k *Kernel) failObject(o *object, p *PagerPanic) {
	k.mu.Lock()
	k.stats.PagerPanics++
	if o == nil || o.failed.Load() != nil {
		k.mu.Unlock()
		return
	}
	o.failed.Store(p)
	o.errWhy = p
	// Init and create are undone by their callers; a terminate under way
	// finishes by itself.
	start := o.live() && !o.destroy && o.state == objReady
	if o.live() && !o.destroy {
		o.destroy = true
		k.freeObjectPagesLocked(o, 0, o.size)
	}
	k.wakeLocked()
	if start {
		k.bg.Add(1)
	}
	k.mu.Unlock()
	if start {
		go func() {
			defer k.bg.Done()
			k.terminate(o)
		}()
	}
}

// failedErr returns the error of a copying call on o: its *PagerPanic if
// its pager panicked, else ErrTerminated.
func (o *object) failedErr() error {
	if p := o.failed.Load(); p != nil {
		return p
	}
	return ErrTerminated
}

// sendGuarded makes a call prepared by pageLocked, as send does, from a
// goroutine: a panic fails the object and the call counts as refused.
// Preconditions: k.mu is not held; not on the fault path.
func (k *Kernel) sendGuarded(o *object, r *request) {
	if p := o.failed.Load(); p != nil {
		o.endCall()
		k.mu.Lock()
		k.refusedLocked(o, r, p)
		k.mu.Unlock()
		return
	}
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		p := &PagerPanic{Op: r.op, Value: v}
		o.endCall()
		k.record(o, r.op, r.seq, r.off, r.len, r.desired, 0, 0, mo.KernMemoryFailure)
		// Failed first, so that the access that waits for the request
		// finds the object terminated rather than the page in error.
		k.failObject(o, p)
		k.mu.Lock()
		k.refusedLocked(o, r, p)
		k.mu.Unlock()
	}()
	k.send(o, r)
}

// The guarded calls. Each makes one pager call unless the pager panicked
// before; for a failed object, init and the calls that carry no data are
// refused with the panic, and data_return and data_initialize are taken
// (the page is dropped: there is nobody to give it to).

func (k *Kernel) callInit(o *object, s mo.Seqno, ps mo.Size) (err error) {
	defer k.recovered(o, mo.OpInit, &err)
	return o.pager.Init(s, o.ctl, ps)
}

func (k *Kernel) callCreate(o *object, size, ps mo.Size) (d mo.DefaultObject, err error) {
	defer k.recovered(nil, mo.OpCreate, &err)
	return k.dp.Create(o.ctl, size, ps)
}

func (k *Kernel) callTerminate(o *object, s mo.Seqno) (err error) {
	if p := o.failed.Load(); p != nil {
		return p
	}
	defer k.recovered(o, mo.OpTerminate, &err)
	return o.pager.Terminate(s, o.ctl)
}

func (k *Kernel) callDataReturn(o *object, s mo.Seqno, off mo.Offset, data []byte, dirty, keep bool) (err error) {
	if o.failed.Load() != nil {
		return nil
	}
	defer k.recovered(o, mo.OpDataReturn, &err)
	return o.pager.DataReturn(s, o.ctl, off, data, dirty, keep)
}

func (k *Kernel) callDataInitialize(o *object, s mo.Seqno, off mo.Offset, data []byte) (err error) {
	if o.failed.Load() != nil {
		return nil
	}
	defer k.recovered(o, mo.OpDataInitialize, &err)
	return o.def.DataInitialize(s, o.ctl, off, data)
}

func (k *Kernel) callSynchronize(o *object, s mo.Seqno, off mo.Offset, n mo.Size, flags mo.SyncFlags) (err error) {
	if p := o.failed.Load(); p != nil {
		return p
	}
	defer k.recovered(o, mo.OpSynchronize, &err)
	return o.pager.Synchronize(s, o.ctl, off, n, flags)
}

func (k *Kernel) callLockCompleted(o *object, s mo.Seqno, off mo.Offset, n mo.Size) (err error) {
	if p := o.failed.Load(); p != nil {
		return p
	}
	defer k.recovered(o, mo.OpLockCompleted, &err)
	return o.pager.LockCompleted(s, o.ctl, off, n)
}

func (k *Kernel) callSupplyCompleted(o *object, s mo.Seqno, off mo.Offset, n mo.Size, result error, eoff mo.Offset) (err error) {
	if p := o.failed.Load(); p != nil {
		return p
	}
	defer k.recovered(o, mo.OpSupplyCompleted, &err)
	return o.pager.SupplyCompleted(s, o.ctl, off, n, result, eoff)
}

func (k *Kernel) callChangeCompleted(o *object, s mo.Seqno, attr mo.Attributes) (err error) {
	if p := o.failed.Load(); p != nil {
		return p
	}
	defer k.recovered(o, mo.OpChangeCompleted, &err)
	return o.pager.ChangeCompleted(s, o.ctl, attr)
}
