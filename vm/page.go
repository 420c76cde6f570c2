package vm

import (
	"sync/atomic"

	"github.com/tamach/tamach/internal/pagemem"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// status is what pageLocked found.
type status uint8

const (
	stOK            status = iota // the page is resident and allows the access
	stCall                        // a call is prepared in *request: make it, then look again
	stWait                        // the page is in transit, or a call must wait: wait and look again
	stError                       // the pager answered data_error
	stTerminated                  // the object is destroyed or terminated
	stNoMemory                    // no frame free or freeable without a page-out
	stUnlockRefused               // the pager refused the data_unlock the access needs
)

// request is a data_request or data_unlock prepared under the lock and
// made after it is released. It lives on the caller's stack.
type request struct {
	op      mo.Op
	seq     mo.Seqno
	off     mo.Offset
	len     mo.Size
	desired mo.Prot
}

// pageLocked looks page index of o up for an access acc and, if it is not
// there, prepares the call that brings it: data_request for a missing
// page (clustered as o's attributes and the mapping's behavior b say),
// data_unlock for a page whose
// lock prohibits acc (GNU Mach vm_fault_page: page_lock and
// unlock_request). req nil means no call may be made now. onlyIdle
// means a call may be made only when no other call on o is under way (the
// fault path's inline calls: the pager's seqno turn is then due at once).
// Preconditions: k.mu is held. Allocates nothing.
func (k *Kernel) pageLocked(o *object, index uint32, acc mo.Prot, b Behavior, req *request, onlyIdle bool) (int, status) {
	if o.destroy || !o.live() {
		return -1, stTerminated
	}
	p := k.pool
	i := p.lookup(o.id, index)
	if i >= 0 {
		f := &p.frames[i]
		if f.flags&pgBusy != 0 {
			f.flags |= pgWanted
			return i, stWait
		}
		if f.flags&pgError != 0 {
			return i, stError
		}
		if f.pageLock()&acc == 0 {
			return i, stOK
		}
		if f.flags&pgUnlockRefused != 0 {
			// The data_unlock made for an access was refused: that access
			// fails (GNU Mach vm_fault_page: VM_FAULT_MEMORY_ERROR when
			// memory_object_data_unlock fails); the next one asks again.
			f.flags &^= pgUnlockRefused
			return i, stUnlockRefused
		}
		if f.unlockRequest()&acc == acc || req == nil || (onlyIdle && o.calls.Load() != 0) {
			return i, stWait
		}
		f.setUnlockRequest(f.unlockRequest() | acc)
		*req = request{op: mo.OpDataUnlock, seq: o.beginCallLocked(), off: k.offsetOf(index), len: mo.Size(k.ps), desired: acc}
		k.stats.DataUnlocks++
		return i, stCall
	}
	if o.state == objReady && o.neverReturned(index) {
		// Anonymous memory never paged out: zeros, no call.
		i = k.allocFrameLocked(o, index, pgUnavailable)
		if i < 0 {
			return -1, stNoMemory
		}
		k.zeroFillLocked(i)
		return i, stOK
	}
	if o.state != objReady || req == nil || (onlyIdle && o.calls.Load() != 0) {
		return -1, stWait
	}
	i = k.allocFrameLocked(o, index, pgBusy|pgAbsent)
	if i < 0 {
		return -1, stNoMemory
	}
	lo, hi := index, index+1
	if o.attr.ClusterSize > mo.Size(k.ps) && b != BehaviorRandom {
		cl := uint32(o.attr.ClusterSize >> k.shift)
		cl = min(cl, 64)
		start := index - index%cl
		if b == BehaviorSequential {
			start = index
		}
		end := min(start+cl, uint32(o.size>>k.shift))
		// The cluster's other pages take frames above the low mark
		// only: never the reserve, nor what the pageout goroutine is
		// woken to restore. Short of them, the clock first drops clean
		// pages for them, a few steps per page: where the pageout
		// goroutine does not run meanwhile (one core, faults served
		// inside the handler) a cluster would otherwise shrink to its
		// one page once every frame is in use. No page is paged out
		// for a cluster.
		//
		// The cluster is the run of missing pages around the faulting
		// one that the pager holds: of anonymous memory, not the pages
		// never paged out, which the kernel zero-fills itself when they
		// are touched (Mach's existence map, vm_external).
		hiWant, loWant := hi, lo
		for hiWant < end && p.lookup(o.id, hiWant) < 0 && !o.neverReturned(hiWant) {
			hiWant++
		}
		for loWant > start && p.lookup(o.id, loWant-1) < 0 && !o.neverReturned(loWant-1) {
			loWant--
		}
		if short := k.low + int(hiWant-loWant) - 1 - p.nfree; short > 0 {
			k.reclaimStepsLocked(short, true, clusterReclaimSteps*short)
		}
		for hi < hiWant && p.nfree > k.low && p.lookup(o.id, hi) < 0 {
			k.allocFrameLocked(o, hi, pgBusy|pgAbsent)
			hi++
		}
		for lo > loWant && p.nfree > k.low && p.lookup(o.id, lo-1) < 0 {
			lo--
			k.allocFrameLocked(o, lo, pgBusy|pgAbsent)
		}
	}
	*req = request{op: mo.OpDataRequest, seq: o.beginCallLocked(), off: k.offsetOf(lo),
		len: mo.Size(k.offsetOf(hi - lo)), desired: acc}
	k.stats.DataRequests++
	return i, stCall
}

// clusterReclaimSteps bounds the clock's steps per frame it looks for to
// make room for a cluster (pageLocked): where every page is dirty or
// referenced, a fault costs at most this many steps per page of its
// cluster, not two sweeps.
const clusterReclaimSteps = 8

// zeroFillLocked fills frame i, just allocated for a page that was never
// given to its default pager, with zeros: the page is resident, filled as
// by data_unavailable (it goes back with data_initialize).
// Preconditions: k.mu is held.
func (k *Kernel) zeroFillLocked(i int) {
	k.clearFrameLocked(i)
	k.stats.PageIns++
	k.stats.ZeroFills++
}

// clearFrameLocked zeroes frame i.
// Preconditions: k.mu is held; frame i is not mapped or lent to a pager.
//
//go:nosplit
func (k *Kernel) clearFrameLocked(i int) {
	pagemem.Clear(k.mem.Bytes(k.pool.pa(i), k.ps))
}

// foldQuickZeroFills moves quickZeroFill into stats.
// Preconditions: k.mu is held.
func (k *Kernel) foldQuickZeroFills() {
	n := uint64(k.quickZeroFill)
	k.stats.Faults += n
	k.stats.PageIns += n
	k.stats.ZeroFills += n
	k.quickZeroFill = 0
}

// allocFrameLocked takes a free frame for page index of o, reclaiming a
// clean page by the clock if none is free. The last ReserveFrames frames
// are given only while a page-out is in progress (GNU Mach's
// vm_page_free_reserved, kept for the pageout path). Returns -1 if none.
// Preconditions: k.mu is held. Allocates nothing.
func (k *Kernel) allocFrameLocked(o *object, index uint32, flags uint16) int {
	p := k.pool
	if p.nfree <= k.reserve && k.laundering == 0 {
		k.reclaimLocked(k.reserve+1-p.nfree, true)
	}
	if p.nfree == 0 || (p.nfree <= k.reserve && k.laundering == 0) {
		return -1
	}
	i := p.alloc(o.id, index, flags)
	o.resident++
	return i
}

// send makes a call prepared by pageLocked. A refused call undoes what
// was prepared: absent pages are freed, unlock requests forgotten.
// Preconditions: k.mu is not held.
func (k *Kernel) send(o *object, r *request) {
	var err error
	switch r.op {
	case mo.OpDataRequest:
		err = o.pager.DataRequest(r.seq, o.ctl, r.off, r.len, r.desired)
	case mo.OpDataUnlock:
		err = o.pager.DataUnlock(r.seq, o.ctl, r.off, r.len, r.desired)
	}
	o.endCall()
	if k.trace != nil {
		k.record(o, r.op, r.seq, r.off, r.len, r.desired, 0, 0, err)
	}
	if err == nil || mo.Accepted(err) {
		return
	}
	k.mu.Lock()
	k.refusedLocked(o, r, err)
	k.mu.Unlock()
}

// deferredCall is a call the fault handler leaves to the call workers.
type deferredCall struct {
	o   *object
	req request
}

// callWorkers is how many goroutines make the calls the fault handler
// defers (Pageout starts them all before the kernel runs). A pager that
// is not fault-safe may touch mapped memory inside data_request, and the
// nested fault may need a call on another object whose pager is not
// fault-safe either: another worker makes it while the first waits. A
// chain of nested faults deeper than the pool, or more such calls under
// way at once than workers, finds no worker free: that fault is Unhandled
// with ReasonNoCallWorker rather than queued behind calls that may be
// waiting for it.
const callWorkers = 4

// deferCallLocked hands a call prepared by pageLocked to a call worker,
// for a pager that is not mo.FaultSafe. The caller has checked that a
// worker is free (callsFreeLocked), so the queue (room for a call per
// worker and a stop per worker) is never full; if it were, the call is
// refused as a pager would.
// Per object, the fault path defers a call only when no other call on the
// object is under way (pageLocked with onlyIdle), so that the call's
// seqno is due at once and the pager's Sequencer never makes one worker
// wait for another; except for the pager's own access, made inside a
// worker's call on the object (it touches another page of its object in
// data_request): that page's call goes to another worker while the
// first is under way, as the protocol allows (a kernel may call one
// object from several goroutines; each call carries its seqno). A pager
// that serves one call at a time, or holds its Sequencer turn across the
// access, makes the second worker wait for the first, which waits for
// the access: that access is reported (ownWaitLocked,
// ReasonSelfDeadlock).
// Preconditions: k.mu is held. Allocates nothing; does not block.
func (k *Kernel) deferCallLocked(o *object, r *request) {
	select {
	case k.calls <- deferredCall{o, *r}:
		k.callsPending.Add(1)
	default:
		o.endCall()
		k.refusedLocked(o, r, mo.KernResourceShortage)
	}
}

// callsFreeLocked reports whether a call worker is free for a deferred
// call: fewer calls are queued or under way than there are workers.
// Preconditions: k.mu is held (calls are deferred only under it).
func (k *Kernel) callsFreeLocked() bool { return k.callsPending.Load() < callWorkers }

// defaultCallWaitLimit is how many times in a row accesses may find every
// call worker busy, with no worker finishing a call meanwhile, before they
// are reported instead of waiting (seconds of retries on the target).
const defaultCallWaitLimit = 1 << 20

// callWaitLocked counts an access that found every call worker busy and
// reports whether it may wait: true until callWaitLimit such accesses
// happen without a worker finishing a call (k.callWaitLimit).
// Preconditions: k.mu is held.
func (k *Kernel) callWaitLocked() bool {
	if done := k.callsDone.Load(); done != k.callWaitDone {
		k.callWaitDone, k.callWaitTries = done, 0
	}
	k.callWaitTries++
	return k.callWaitTries < k.callWaitLimit
}

// unprepareLocked undoes a call pageLocked prepared that will not be
// made: the absent pages it allocated are freed, the unlock request
// forgotten, and the seqno given back (no other call on o was under way,
// and k.mu has been held since, so it is the last one taken).
// Preconditions: k.mu is held, held since pageLocked prepared r.
func (k *Kernel) unprepareLocked(o *object, r *request) {
	p := k.pool
	for off := r.off; off < r.off+mo.Offset(r.len); off += mo.Offset(k.ps) {
		i := p.lookup(o.id, uint32(off>>k.shift))
		if i < 0 {
			continue
		}
		f := &p.frames[i]
		if r.op == mo.OpDataUnlock {
			f.setUnlockRequest(f.unlockRequest() &^ r.desired)
			continue
		}
		if f.flags&pgAbsent != 0 {
			p.release(i)
			o.resident--
		}
	}
	if r.op == mo.OpDataUnlock {
		k.stats.DataUnlocks--
	} else {
		k.stats.DataRequests--
	}
	o.seq--
	o.endCall()
}

// callWorker is what the fault handler knows of one call worker: which
// goroutine it is and the object of the call it is making, so that it
// can tell the pager's own accesses (inCallOnLocked).
type callWorker struct {
	g   atomic.Uintptr // pmap.CurrentG of the worker's goroutine, once it runs
	obj atomic.Uint32  // id of the object of the call under way; 0 between calls
}

// callerSlots is how many goroutines other than the call workers can be
// recorded at once as inside a pager call they make (holdPage's
// data_request or data_unlock, a page-out, Sync's synchronize). A call
// made while every slot is taken goes unrecorded: an API call the pager
// makes inside it on its own object waits as it would have, instead of
// returning ErrSelfDeadlock.
const callerSlots = 16

// enterCall records that the calling goroutine is about to make a call on
// o, for ownCall, and returns the slot to give leaveCall (-1: not
// recorded). Allocates nothing on the target (pmap.CurrentG reads R10).
func (k *Kernel) enterCall(o *object) int {
	g := pmap.CurrentG()
	for i := range k.callers {
		c := &k.callers[i]
		if c.g.Load() == 0 && c.g.CompareAndSwap(0, g) {
			c.obj.Store(uint32(o.id))
			return i
		}
	}
	return -1
}

// leaveCall forgets the call recorded by enterCall in slot.
func (k *Kernel) leaveCall(slot int) {
	if slot >= 0 {
		k.callers[slot].obj.Store(0)
		k.callers[slot].g.Store(0)
	}
}

// ownCall reports whether the calling goroutine is inside a call on o
// (a call worker's, or one it makes itself: enterCall), not counting
// prepared calls it has not made yet: with more calls than that under way
// on o, it compares goroutines. A goroutine may be inside calls on several
// objects (a pager's call touching another object's pages), so every
// record is looked at. With no other call under way it costs one compare.
func (k *Kernel) ownCall(o *object, prepared int32) bool {
	if o.calls.Load() <= prepared {
		return false
	}
	g := pmap.CurrentG()
	for w := range k.workers {
		if k.workers[w].g.Load() == g && k.workers[w].obj.Load() == uint32(o.id) {
			return true
		}
	}
	for i := range k.callers {
		if k.callers[i].g.Load() == g && k.callers[i].obj.Load() == uint32(o.id) {
			return true
		}
	}
	return false
}

// serveCalls is call worker w: it makes the calls the fault handler
// deferred until it receives a call with no object (Pageout sends one per
// worker when stopped; the queue has room for them). It receives with a
// plain receive rather than a select on stop as well: a select costs
// several times as much, on the path of every deferred call.
func (k *Kernel) serveCalls(w *callWorker) {
	w.g.Store(pmap.CurrentG())
	for {
		c := <-k.calls
		if c.o == nil {
			return
		}
		w.obj.Store(uint32(c.o.id))
		k.sendGuarded(c.o, &c.req)
		w.obj.Store(0)
		c.o.deferredDone.Add(1)
		k.callsPending.Add(-1)
		k.callsDone.Add(1)
	}
}

// refusedLocked undoes what a refused call prepared: absent pages become
// error pages (the access fails as for data_error), unlock requests are
// forgotten and the access that waits for one fails (pgUnlockRefused)
// rather than asking again without end.
// Preconditions: k.mu is held.
func (k *Kernel) refusedLocked(o *object, r *request, err error) {
	for off := r.off; off < r.off+mo.Offset(r.len); off += mo.Offset(k.ps) {
		i := k.pool.lookup(o.id, uint32(off>>k.shift))
		if i < 0 {
			continue
		}
		f := &k.pool.frames[i]
		if r.op == mo.OpDataUnlock {
			f.setUnlockRequest(f.unlockRequest() &^ r.desired)
			if f.pageLock()&r.desired != 0 {
				f.flags |= pgUnlockRefused
				o.unlockErr = err
			}
			continue
		}
		if f.flags&pgAbsent != 0 {
			// The pager will not answer: the access fails as for data_error.
			f.flags = f.flags&^(pgBusy|pgAbsent|pgWanted) | pgError
			o.errOff, o.errWhy = off, err
		}
	}
	k.wakeLocked()
}
