package vm

import (
	"sync"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// noLockChange says returnRange leaves page locks alone
// (VM_PROT_NO_CHANGE).
const noLockChange mo.Prot = 0xff

// reclaimLocked runs the clock (second chance) over the frames until want
// frames were freed or two sweeps passed: reclaimStepsLocked with two
// sweeps of steps.
// Preconditions: k.mu is held. Allocates nothing.
func (k *Kernel) reclaimLocked(want int, cleanOnly bool) (freed int, victim int) {
	return k.reclaimStepsLocked(want, cleanOnly, 2*len(k.pool.frames))
}

// reclaimStepsLocked runs the clock (second chance) over the frames until
// want frames were freed or the hand moved steps frames. A referenced page loses its
// reference (in the frame and in its mappings, whose next access then
// takes an access-flag fault) and is passed over; a clean, non-precious,
// unwired page not in transit is unmapped and freed (data_return: clean
// non-precious pages are dropped silently). Dirty and precious pages need
// a page-out: with cleanOnly they are passed over, otherwise the first one
// found is returned (with its object) for the caller to page out.
// Preconditions: k.mu is held. Allocates nothing.
func (k *Kernel) reclaimStepsLocked(want int, cleanOnly bool, steps int) (freed int, victim int) {
	p := k.pool
	n := len(p.frames)
	victim = -1
	for step := 0; step < steps && freed < want; step++ {
		i := p.hand
		p.hand++
		if p.hand == n {
			p.hand = 0
		}
		f := &p.frames[i]
		if f.flags&(pgFree|pgBusy) != 0 || f.wire != 0 {
			continue
		}
		o := k.objects[f.obj-1] // a tabled frame's object exists
		// The harvest, one pmap walk per mapping (Pmap.Reclaim): the
		// modified and referenced state of the page's mappings goes
		// into the frame and their references are cleared, as
		// harvestLocked(o, i, false, true) does; and while the page
		// may be dropped (unreferenced, and clean and not precious,
		// or in error) each mapping, found neither modified nor
		// referenced, is removed.
		fl := f.flags
		drop := fl&(pgReferenced|pgDirty|pgPrecious) == 0 || fl&(pgReferenced|pgError) == pgError
		unmapped := true
		if o.mapRefs != 0 {
			found := 0
			entries := k.entries
			for ei := range entries {
				va, ok := entries[ei].vaOfIndex(o, f.index, k.shift)
				if !ok {
					continue
				}
				h := k.pm.Reclaim(va, drop)
				if h&(pmap.HarvestModified|pmap.HarvestReferenced) != 0 {
					if h&pmap.HarvestModified != 0 {
						f.flags |= pgDirty
					}
					if h&pmap.HarvestReferenced != 0 {
						f.flags |= pgReferenced
					}
					drop = false
				}
				if h&(pmap.HarvestMapped|pmap.HarvestRemoved) == pmap.HarvestMapped {
					unmapped = false
				}
				if found++; found == o.mapRefs {
					break // every entry naming o is seen
				}
			}
		}
		if !drop || !unmapped {
			if f.flags&pgReferenced != 0 {
				f.flags &^= pgReferenced
				continue
			}
			if f.flags&pgError == 0 && f.flags&(pgDirty|pgPrecious) != 0 {
				if cleanOnly || f.flags&pgKept != 0 {
					// A kept page (its pager refuses its page-out) stays,
					// mapped as it is, until Sync or lock_request returns it.
					continue
				}
				// Unmapping now settles dirty: no write can come in between.
				if k.unmapPageLocked(o, f.index, true) {
					f.flags |= pgDirty
				}
				victim = i
				break
			}
			if !unmapped && k.unmapPageLocked(o, f.index, true) {
				// A mapping the harvest could not remove was modified
				// after all: the page needs a page-out.
				f.flags |= pgDirty
				if cleanOnly {
					continue
				}
				victim = i
				break
			}
		}
		// p.release(i), written out: a call here costs the clock a
		// tenth of its instructions on ARM, where every live value is
		// reloaded from the stack after a call.
		link := p.bucket(f.obj, f.index)
		for *link != uint32(i+1) {
			link = &p.frames[*link-1].next
		}
		*link = f.next
		f.next, f.index, f.obj, f.flags, f.lock, f.wire = p.free, 0, 0, pgFree, 0, 0
		p.free = uint32(i + 1)
		o.resident--
		freed++
	}
	p.nfree += freed
	k.stats.Evictions += uint64(freed)
	k.stats.CleanDrops += uint64(freed)
	if freed > 0 {
		k.wakeLocked()
	}
	return freed, victim
}

// reclaim frees up to want frames, paging out dirty and precious pages
// with data_return (or data_initialize for a default pager's page it never
// had) from the calling goroutine. It returns the frames freed.
// Preconditions: k.mu is not held.
func (k *Kernel) reclaim(want int) int {
	total := 0
	k.mu.Lock()
	defer k.mu.Unlock()
	for total < want {
		freed, v := k.reclaimLocked(want-total, false)
		total += freed
		if v < 0 {
			break
		}
		if freed, _ := k.pageOutLocked(v, true, false); freed {
			total++
		}
	}
	return total
}

// pageOutLocked sends the page in frame i back to its pager with
// data_return, lending the frame for the call: the page is unmapped (or
// write protected if keep), busy and in the laundry meanwhile, and a fault
// on it waits. With keep the kernel keeps the page, clean (kernel_copy);
// otherwise the frame is freed when the call returns. A default pager's
// page that came from data_unavailable goes with data_initialize. It
// reports whether the frame was freed, and the pager's error if it
// refused a dirty or precious page: that page is kept, dirty (see
// refusedPageOutLocked).
// Preconditions: k.mu is held; it is released during the call.
func (k *Kernel) pageOutLocked(i int, flush, keep bool) (bool, error) {
	p := k.pool
	f := &p.frames[i]
	o := k.objectByID(f.obj)
	if !o.live() && o.state != objTerminating {
		return false, nil
	}
	dirty := f.flags&pgDirty != 0
	precious := f.flags&pgPrecious != 0
	initial := o.def != nil && f.flags&pgUnavailable != 0
	f.flags = f.flags&^(pgDirty|pgReferenced) | pgBusy | pgLaundry
	k.laundering++
	o.setReturned(f.index)
	off := mo.Offset(f.index) << k.shift
	s := o.beginCallLocked()
	k.mu.Unlock()
	data := k.mem.Bytes(p.pa(i), k.ps)
	slot := k.enterCall(o)
	var err error
	if initial {
		err = k.callDataInitialize(o, s, off, data)
		k.record(o, mo.OpDataInitialize, s, off, mo.Size(k.ps), 0, 0, 0, err)
	} else {
		err = k.callDataReturn(o, s, off, data, dirty, keep)
		var fl mo.EventFlags
		if dirty {
			fl |= mo.FlagDirty
		}
		if keep {
			fl |= mo.FlagKernelCopy
		}
		k.record(o, mo.OpDataReturn, s, off, mo.Size(k.ps), 0, 0, fl, err)
	}
	k.leaveCall(slot)
	o.endCall()
	k.mu.Lock()
	k.laundering--
	f = &p.frames[i]
	f.flags &^= pgBusy | pgLaundry | pgWanted
	k.stats.PageOuts++
	if err != nil && (dirty || precious) && o.failed.Load() == nil {
		// The pager refused the data: keep it rather than lose it
		// (data_return's data is only ever dropped when the pager has a
		// copy: clean and not precious).
		if dirty {
			f.flags |= pgDirty
		}
		k.refusedPageOutLocked(f)
		k.wakeLocked()
		return false, err
	}
	f.flags &^= pgUnavailable | pgKept
	f.refusals = 0
	k.wakeLocked()
	if !flush {
		return false, nil
	}
	p.release(i)
	o.resident--
	k.stats.Evictions++
	return true, nil
}

// MaxPageOutRefusals is how many page-outs of one page its pager may
// refuse in a row before the kernel stops offering that page for
// page-out. The page is then kept: resident, dirty (never dropped), still
// mapped and usable, counted in Stats.KeptPages, and passed over by the
// clock, which evicts other pages instead. Sync and the pager's
// lock_request still return it; the first data_return the pager takes
// ends the state. When only kept (and wired) pages are left and a frame is
// needed, the copying calls return ErrPageOutRefused and a fault is
// Unhandled with ReasonPageOutRefused, instead of page-outs retried
// without end.
const MaxPageOutRefusals = 8

// refusedPageOutLocked counts a refused page-out of the page in f: in
// Stats.PageOutsRefused and in the page's own count, which keeps it
// (pgKept) at MaxPageOutRefusals.
// Preconditions: k.mu is held.
func (k *Kernel) refusedPageOutLocked(f *frame) {
	k.stats.PageOutsRefused++
	if f.refusals < MaxPageOutRefusals {
		f.refusals++
	}
	if f.refusals == MaxPageOutRefusals {
		f.flags |= pgKept
	}
}

// Pageout runs the pageout goroutine until stop is closed: whenever woken
// (free frames fell below LowFrames) it frees frames until HighFrames are
// free, paging dirty and precious pages out. It also runs the call
// workers (callWorkers goroutines, all started before it reports the
// kernel running), which make the data_request and data_unlock calls that
// the fault handler leaves to them (for pagers that are not mo.FaultSafe),
// and waits for them before returning. A program starts it once per
// kernel: go k.Pageout(stop); without it, faults on such pagers wait
// forever.
func (k *Kernel) Pageout(stop <-chan struct{}) {
	var served sync.WaitGroup
	served.Add(callWorkers)
	for w := range k.workers {
		go func() {
			defer served.Done()
			k.serveCalls(&k.workers[w])
		}()
	}
	defer served.Wait()
	k.pageoutStarted.Do(func() { close(k.pageoutRunning) })
	for {
		select {
		case <-stop:
			for range callWorkers {
				k.calls <- deferredCall{} // a worker's stop
			}
			return
		case <-k.wake:
		}
		k.mu.Lock()
		need := k.high - k.pool.nfree
		k.mu.Unlock()
		if need > 0 {
			k.reclaim(need)
		}
	}
}

// returnRange applies a lock request to the resident pages of o in
// [off, off+n), as GNU Mach's memory_object_lock_page decides for each
// page (vm/memory_object.c): a new lock value lowers the page's mappings
// and clears its unlock request; pages that must return (dirty, or
// precious with ReturnAll or when flushed, as mo.ReturnDirty says) go back
// with data_return; with flush the pages are then freed. Where GNU Mach
// blocks on a busy page (MEMORY_OBJECT_LOCK_RESULT_MUST_BLOCK) this
// kernel does not: a busy page is either absent (no data to return or
// flush; its lock is set now) or being returned already (the pager gets
// it by that return). It returns the first refusal of a page-out (the
// page is kept, dirty), as a *PageOutError.
// Preconditions: k.mu is not held.
func (k *Kernel) returnRange(o *object, off mo.Offset, n mo.Size, policy mo.ReturnPolicy, flush bool, lock mo.Prot) error {
	p := k.pool
	k.mu.Lock()
	defer k.mu.Unlock()
	if o.resident == 0 {
		return nil
	}
	var refused error
	refuse := func(idx uint32, err error) {
		if err != nil && refused == nil {
			refused = &PageOutError{Offset: mo.Offset(idx) << k.shift, Err: err}
		}
	}
	for idx := uint32(off >> k.shift); uint64(idx)<<k.shift < uint64(off)+uint64(n); idx++ {
		i := p.lookup(o.id, idx)
		if i < 0 {
			continue
		}
		f := &p.frames[i]
		if lock != noLockChange {
			// A busy page too: one in the laundry is still mapped (write
			// protected only until the next store's modified fault), and
			// that mapping must not outlive the lock.
			if (f.pageLock()^lock)&lock != 0 {
				if k.protectPageLocked(o, idx, lock) {
					f.flags |= pgDirty
				}
			}
			f.setPageLock(lock)
			f.setUnlockRequest(0)
			f.flags &^= pgUnlockRefused
			k.wakeLocked()
		}
		if f.flags&pgBusy != 0 {
			continue
		}
		if f.flags&pgError != 0 {
			if flush {
				k.flushFrameLocked(o, i)
			}
			continue
		}
		if policy != mo.ReturnNone {
			k.harvestLocked(o, i, false, false)
		}
		ret := policy != mo.ReturnNone && (f.flags&pgDirty != 0 ||
			(f.flags&pgPrecious != 0 && (policy == mo.ReturnAll || flush)))
		if ret && f.wire != 0 && flush {
			// A wired page cannot be flushed; return it and keep it.
			flush2 := false
			k.writeProtectLocked(o, idx)
			_, err := k.pageOutLocked(i, flush2, true)
			refuse(idx, err)
			continue
		}
		if ret {
			if flush {
				if k.unmapPageLocked(o, idx, true) {
					f.flags |= pgDirty
				}
			} else {
				k.writeProtectLocked(o, idx)
			}
			_, err := k.pageOutLocked(i, flush, !flush)
			refuse(idx, err)
			continue
		}
		if flush && f.wire == 0 {
			k.flushFrameLocked(o, i)
		}
	}
	return refused
}

// writeProtectLocked maps every mapping of the page read-only, clearing
// their modified state into the frame's dirty bit, so that no write goes
// unseen while the page is lent to the pager.
// Preconditions: k.mu is held.
func (k *Kernel) writeProtectLocked(o *object, idx uint32) {
	i := k.pool.lookup(o.id, idx)
	if i < 0 {
		return
	}
	k.harvestLocked(o, i, true, false)
}
