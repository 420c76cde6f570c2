package mo

import (
	"sync"
	"sync/atomic"
)

// Kernels is the registry of the kernels that map one memory object, for
// the pager of that object: for every Control that sent Init (or for
// which DefaultPager.Create made the object), its page size, its
// Sequencer, whether it was terminated, and the pager's own state S for
// it. It applies the lifecycle rules a pager answers the same way
// whatever its logic:
//
//   - Init from a nil control, or a second Init from a live one:
//     KernInvalidArgument, nothing changes. The second Init's turn, when
//     its seqno is not yet used, is taken and left, so the calls after it
//     are not held up.
//   - Init from a terminated or dropped control: KernTerminated.
//   - Init after Close(err): the control is dropped (recorded terminated)
//     and the Init refused with err.
//   - Init with a seqno other than 0, a page size CheckPageSize refuses,
//     or one the pager's accept function refuses: the control is dropped
//     and the Init refused with KernInvalidArgument, or with accept's
//     error.
//   - Any other call (Enter) from a control that never sent Init:
//     KernInvalidArgument; from a terminated or dropped one, or one
//     terminated while the call waited for its turn: KernTerminated. A
//     refused call leaves no turn taken.
//
// The zero Kernels is empty and ready for use. A Kernels must not be
// copied after first use.
//
// # Invariants
//
//   - list holds every control ever registered, live or dead, once each,
//     and is never changed in place: Init publishes a new slice, so Enter
//     and Lookup read it without a lock.
//   - A Kernel is live from its accepted Init until Terminate; once dead
//     it stays dead and in list.
//   - last is nil or a Kernel of list; a dead Kernel may stay in it only
//     for the instant between a lookup's Store and its recheck of dead
//     (see lookup), and a call that finds it there is refused after its
//     turn, as a call terminated while it waited.
//
// # Lock order
//
// Kernels.mu serialises Init and Close; Init holds it across the pager's
// accept function, which may take the pager's own locks (Kernels.mu before
// them), and while it allocates. Close takes it alone. The other methods
// take no lock and allocate nothing, so a pager may call them with its own
// locks held, and a fault handler may call Enter and EnterRange (the turn
// they take is the caller's to keep due: see FaultSafe).
type Kernels[S any] struct {
	mu     sync.Mutex // serialises Init and Close; see Lock order
	closed error      // protected by mu: what Init answers after Close
	// list is every registered control's Kernel, the live ones first
	// as of the last Init. Written under mu, read without a lock.
	list atomic.Pointer[[]*Kernel[S]]
	// last is the Kernel the last lookup found, so that a call on it
	// needs no scan (a kernel's fault path makes one call per fault).
	last atomic.Pointer[Kernel[S]]
}

// Kernel is one control's entry in a Kernels registry.
type Kernel[S any] struct {
	// ctl, pageSize and dead, read on every call, share a cache line
	// with the Sequencer's state.
	ctl      Control     // immutable
	pageSize Size        // immutable
	dead     atomic.Bool // set once, by Terminate or a refused Init
	seq      Sequencer

	// State is the pager's state for this kernel. It is set by the
	// accept function of Init before the Kernel is published; a pager
	// protects later changes with its own locks or atomics.
	State S
}

// Control returns the kernel's control.
func (k *Kernel[S]) Control() Control { return k.ctl }

// PageSize returns the page size the kernel gave at Init.
func (k *Kernel[S]) PageSize() Size { return k.pageSize }

// Dead reports whether the kernel was terminated (or its Init refused).
func (k *Kernel[S]) Dead() bool { return k.dead.Load() }

// Leave ends the turn of seqno that Enter took.
func (k *Kernel[S]) Leave(seqno Seqno) { k.seq.Leave(seqno) }

// Init registers ctl, whose kernel uses pageSize, as Object.Init (or, with
// seqno 0, DefaultPager.Create) does; see Kernels for the errors. accept,
// called with Kernels.mu held once the rules above are met and pageSize is
// a power of two in range, returns the pager's state for the kernel, or the
// error to refuse it with (the control is then dropped). On success the
// kernel's turn 0 is taken and left, and the caller answers with
// ctl.Ready. Init may allocate; it takes no lock Enter takes.
func (r *Kernels[S]) Init(seqno Seqno, ctl Control, pageSize Size, accept func(pageSize Size) (S, error)) (*Kernel[S], error) {
	if ctl == nil {
		return nil, KernInvalidArgument
	}
	r.mu.Lock()
	var old []*Kernel[S]
	if p := r.list.Load(); p != nil {
		old = *p
	}
	for _, k := range old {
		if k.ctl != ctl {
			continue
		}
		r.mu.Unlock()
		if k.Dead() {
			return nil, KernTerminated
		}
		// Init is once per kernel. Take the refused call's turn unless
		// its seqno was used already (a repeated Init 0).
		if seqno >= k.seq.Next() {
			k.seq.Enter(seqno)
			k.seq.Leave(seqno)
		}
		return nil, KernInvalidArgument
	}
	k := &Kernel[S]{ctl: ctl, pageSize: pageSize}
	var err error
	if r.closed != nil {
		err = r.closed
	} else if seqno != 0 || CheckPageSize(pageSize) != nil {
		err = KernInvalidArgument
	} else if k.State, err = accept(pageSize); err == nil {
		k.seq.Enter(0)
		k.seq.Leave(0)
	}
	if err != nil {
		k.dead.Store(true)
	}
	// The new list: live kernels first, so a lookup finds them before
	// the dead ones, which stay so that their calls get KernTerminated.
	list := make([]*Kernel[S], 0, len(old)+1)
	if err == nil {
		list = append(list, k)
	}
	for _, x := range old {
		if !x.Dead() {
			list = append(list, x)
		}
	}
	for _, x := range old {
		if x.Dead() {
			list = append(list, x)
		}
	}
	if err != nil {
		list = append(list, k)
	}
	r.list.Store(&list)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Close makes every later Init of a new control fail with err (not nil),
// for an object that was destroyed. When Close returns, every Init accepted
// before it is in All.
func (r *Kernels[S]) Close(err error) {
	r.mu.Lock()
	r.closed = err
	r.mu.Unlock()
}

// Enter finds ctl's kernel and takes seqno's turn, waiting for the calls
// numbered before it. A call from a control that never sent Init gets
// KernInvalidArgument; from a terminated one, or one terminated while the
// call waited, KernTerminated; then no turn is held. On success the caller
// calls k.Leave(seqno) once the call's order no longer matters. Enter
// allocates nothing, takes no lock and has no defer: a pager may call it
// from DataRequest and DataUnlock of a FaultSafe object.
func (r *Kernels[S]) Enter(seqno Seqno, ctl Control) (*Kernel[S], error) {
	k := r.last.Load()
	if k == nil || k.ctl != ctl {
		var err error
		if k, err = r.lookup(ctl); err != nil {
			return nil, err
		}
	}
	k.seq.Enter(seqno)
	if k.dead.Load() {
		// Terminated while this call waited for its turn.
		k.seq.Leave(seqno)
		return nil, KernTerminated
	}
	return k, nil
}

// EnterRange is Enter followed by CheckRange of [offset, offset+length)
// against the kernel's page size and objectSize: on a bad range the turn
// is left and the error is KernInvalidArgument. Like Enter it allocates
// nothing, takes no lock and has no defer.
func (r *Kernels[S]) EnterRange(seqno Seqno, ctl Control, offset Offset, length Size, objectSize Size) (*Kernel[S], error) {
	// Enter's steps, not a call to it: this is the fault path of a
	// pager such as defaultpager, where a call level costs.
	k := r.last.Load()
	if k == nil || k.ctl != ctl {
		var err error
		if k, err = r.lookup(ctl); err != nil {
			return nil, err
		}
	}
	k.seq.Enter(seqno)
	if dead := k.dead.Load(); dead || CheckRange(offset, length, k.pageSize, objectSize) != nil {
		k.seq.Leave(seqno)
		if dead {
			return nil, KernTerminated
		}
		return nil, KernInvalidArgument
	}
	return k, nil
}

// Acknowledge takes and leaves seqno's turn for ctl: the whole of a call
// that asks nothing of the pager but to keep the order, as mo.NoReplies'
// Acknowledge. The errors are Enter's.
func (r *Kernels[S]) Acknowledge(seqno Seqno, ctl Control) error {
	k, err := r.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	k.seq.Leave(seqno)
	return nil
}

// Lookup returns ctl's live kernel without taking a turn:
// KernInvalidArgument for a control that never sent Init, KernTerminated
// for a terminated or dropped one. Like Enter it allocates nothing and
// takes no lock.
func (r *Kernels[S]) Lookup(ctl Control) (*Kernel[S], error) {
	k := r.last.Load()
	if k != nil && k.ctl == ctl && !k.dead.Load() {
		return k, nil
	}
	return r.lookup(ctl)
}

// lookup scans the list for ctl and remembers a live kernel in last.
func (r *Kernels[S]) lookup(ctl Control) (*Kernel[S], error) {
	p := r.list.Load()
	if p == nil {
		return nil, KernInvalidArgument
	}
	for _, k := range *p {
		if k.ctl != ctl {
			continue
		}
		if k.dead.Load() {
			return nil, KernTerminated
		}
		r.last.Store(k)
		if k.dead.Load() {
			// Terminate ran between the two loads and may have
			// cleared last before the Store: clear it again.
			r.last.CompareAndSwap(k, nil)
		}
		return k, nil
	}
	return nil, KernInvalidArgument
}

// Terminate marks k dead: its later calls, and those waiting for their
// turn, get KernTerminated. The caller holds k's turn (the Terminate call's,
// taken with Enter) and leaves it when it has finished with k; it may hold
// its own locks, since Terminate takes none and allocates nothing.
func (r *Kernels[S]) Terminate(k *Kernel[S]) {
	k.dead.Store(true)
	r.last.CompareAndSwap(k, nil)
}

// All returns every registered kernel, live and dead (see Kernel.Dead). The
// slice is a snapshot, never changed afterwards; it must not be modified.
func (r *Kernels[S]) All() []*Kernel[S] {
	if p := r.list.Load(); p != nil {
		return *p
	}
	return nil
}

// Live counts the kernels not terminated.
func (r *Kernels[S]) Live() int {
	n := 0
	for _, k := range r.All() {
		if !k.Dead() {
			n++
		}
	}
	return n
}
