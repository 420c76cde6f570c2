package vm

import (
	"github.com/tamach/tamach/internal/pagemem"
	"github.com/tamach/tamach/mo"
)

// The pager's calls on the kernel (memory_object_control). Each may come
// from any goroutine, inside a call on the object or later. An answer the
// kernel cannot take (a page it did not ask for or already holds, a call
// after terminate, a malformed size) is refused with its Mach code,
// counted in Stats.Refused and recorded in the trace; no data changes.

// enterLocked checks that the object may take an answer.
// Preconditions: k.mu is held.
func (c *control) enterLocked() error {
	o := c.o
	if o.state == objTerminated || o.state == objTerminating {
		return mo.KernTerminated
	}
	return nil
}

func (c *control) refuseLocked(err error) error {
	if err != nil {
		c.k.stats.Refused++
	}
	return err
}

// answerPageLocked returns the frame of the page an answer of n bytes at
// off is for, when that is one requested page not yet answered (absent)
// of an object that may take answers: the synchronous answer of a fault,
// which then needs neither the range loops nor 64-bit shifts. Otherwise
// it returns -1 and answerRangeLocked decides.
// Preconditions: k.mu is held.
func (c *control) answerPageLocked(off mo.Offset, n mo.Size) int {
	k, o := c.k, c.o
	// Page indexes are 32 bits: an offset below 1<<44 is one below
	// 1<<32 pages of 4 KiB, so off>>12 fits a uint32.
	if n != mo.Size(k.ps) || off >= mo.Offset(o.size) || off>>44 != 0 ||
		uint32(off)&(k.ps-1) != 0 || o.state >= objTerminating {
		return -1
	}
	i := k.pool.lookup(o.id, uint32(off>>12)>>(k.shift-12))
	if i < 0 || k.pool.frames[i].flags&pgAbsent == 0 {
		return -1
	}
	return i
}

// filledLocked ends the request of the page in frame i, filled.
// Preconditions: k.mu is held; answerPageLocked returned i.
func (c *control) filledLocked(i int, set uint16, lock mo.Prot) {
	k := c.k
	f := &k.pool.frames[i]
	f.flags = f.flags&^(pgBusy|pgAbsent|pgWanted) | set
	f.lock = uint8(lock & 7) // page lock; no unlock request
	k.stats.PageIns++
	k.wakeLocked()
}

// answerRangeLocked validates an answer's range and checks that every page
// of it was requested and not yet answered (absent).
// Preconditions: k.mu is held.
func (c *control) answerRangeLocked(off mo.Offset, n mo.Size) error {
	k, o := c.k, c.o
	if err := c.enterLocked(); err != nil {
		return err
	}
	if err := mo.CheckRange(off, n, mo.Size(k.ps), o.size); err != nil {
		return err
	}
	for idx := uint32(off >> k.shift); uint64(idx)<<k.shift < uint64(off)+uint64(n); idx++ {
		i := k.pool.lookup(o.id, idx)
		if i < 0 {
			return mo.KernInvalidArgument // never requested
		}
		if k.pool.frames[i].flags&pgAbsent == 0 {
			return mo.KernMemoryPresent // answered already, or resident
		}
	}
	return nil
}

// fillLocked ends the request of every page in [off, off+n): fn fills
// frame memory, flags are set.
// Preconditions: k.mu is held; answerRangeLocked accepted the range.
func (c *control) fillLocked(off mo.Offset, n mo.Size, set uint16, lock mo.Prot, fn func(page []byte, j int)) {
	k, o := c.k, c.o
	j := 0
	for idx := uint32(off >> k.shift); uint64(idx)<<k.shift < uint64(off)+uint64(n); idx++ {
		i := k.pool.lookup(o.id, idx)
		f := &k.pool.frames[i]
		if fn != nil {
			fn(k.mem.Bytes(k.pool.pa(i), k.ps), j)
		}
		f.flags = f.flags&^(pgBusy|pgAbsent|pgWanted) | set
		f.setPageLock(lock)
		f.setUnlockRequest(0)
		j++
	}
	k.wakeLocked()
}

// DataSupply implements mo.Control: the data is copied into the frames of
// the requested pages before it returns.
func (c *control) DataSupply(off mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	k, o := c.k, c.o
	n := mo.Size(len(data))
	elided := k.answerLock()
	if !reply && lock.Valid() {
		if i := c.answerPageLocked(off, n); i >= 0 {
			pagemem.Copy(k.mem.Bytes(k.pool.pa(i), k.ps), data)
			set := uint16(0)
			if precious {
				set = pgPrecious
			}
			c.filledLocked(i, set, lock)
			k.answerUnlock(elided)
			if k.trace != nil {
				var fl mo.EventFlags
				if precious {
					fl |= mo.FlagPrecious
				}
				k.record(o, mo.OpDataSupply, 0, off, n, lock, 0, fl, nil)
			}
			return nil
		}
	}
	k.answerRelock(elided)
	err := c.answerRangeLocked(off, n)
	if err == nil && !lock.Valid() {
		err = mo.KernInvalidArgument
	}
	if err == nil {
		set := uint16(0)
		if precious {
			set = pgPrecious
		}
		ps := int(k.ps)
		c.fillLocked(off, n, set, lock, func(page []byte, j int) { pagemem.Copy(page, data[j*ps:]) })
		k.stats.PageIns += uint64(n >> k.shift)
	}
	c.refuseLocked(err)
	live := o.live()
	var s mo.Seqno
	if reply && live {
		s = o.beginCallLocked()
	}
	k.mu.Unlock()
	var fl mo.EventFlags
	if precious {
		fl |= mo.FlagPrecious
	}
	if reply {
		fl |= mo.FlagReply
	}
	k.record(o, mo.OpDataSupply, 0, off, n, lock, 0, fl, err)
	if reply && live {
		var eoff mo.Offset
		if err != nil {
			eoff = off
		}
		rerr := k.callSupplyCompleted(o, s, off, n, err, eoff)
		o.endCall()
		k.record(o, mo.OpSupplyCompleted, s, off, n, 0, 0, 0, rerr)
	}
	return err
}

// DataUnavailable implements mo.Control: the pages are zero-filled.
func (c *control) DataUnavailable(off mo.Offset, n mo.Size) error {
	k, o := c.k, c.o
	elided := k.answerLock()
	if i := c.answerPageLocked(off, n); i >= 0 {
		pagemem.Clear(k.mem.Bytes(k.pool.pa(i), k.ps))
		c.filledLocked(i, pgUnavailable, mo.ProtNone)
		k.answerUnlock(elided)
		if k.trace != nil {
			k.record(o, mo.OpDataUnavailable, 0, off, n, 0, 0, 0, nil)
		}
		return nil
	}
	k.answerRelock(elided)
	err := c.answerRangeLocked(off, n)
	if err == nil {
		c.fillLocked(off, n, pgUnavailable, mo.ProtNone, func(page []byte, _ int) { pagemem.Clear(page) })
		k.stats.PageIns += uint64(n >> k.shift)
	}
	c.refuseLocked(err)
	k.mu.Unlock()
	k.record(o, mo.OpDataUnavailable, 0, off, n, 0, 0, 0, err)
	return err
}

// DataError implements mo.Control: accesses to the pages fail; the
// copying calls return a *DataError with reason.
func (c *control) DataError(off mo.Offset, n mo.Size, reason error) error {
	k, o := c.k, c.o
	k.mu.Lock()
	err := c.answerRangeLocked(off, n)
	if err == nil {
		c.fillLocked(off, n, pgError, mo.ProtNone, nil)
		o.errOff, o.errWhy = off, reason
	}
	c.refuseLocked(err)
	k.mu.Unlock()
	k.record(o, mo.OpDataError, 0, off, n, 0, 0, 0, err)
	return err
}

// LockRequest implements mo.Control (memory_object_lock_request): the
// resident pages of the range are returned as shouldReturn says, flushed
// if shouldFlush, and get lock as their page lock; with reply,
// lock_completed follows. The returns are made from the calling
// goroutine before LockRequest returns.
func (c *control) LockRequest(off mo.Offset, n mo.Size, shouldReturn mo.ReturnPolicy, shouldFlush bool, lock mo.Prot, reply bool) error {
	k, o := c.k, c.o
	k.mu.Lock()
	err := c.enterLocked()
	if err == nil {
		err = mo.CheckRange(off, n, mo.Size(k.ps), o.size)
	}
	if err == nil && (!shouldReturn.Valid() || !lock.Valid()) {
		err = mo.KernInvalidArgument
	}
	c.refuseLocked(err)
	k.mu.Unlock()
	var fl mo.EventFlags
	if shouldFlush {
		fl |= mo.FlagFlush
	}
	if reply {
		fl |= mo.FlagReply
	}
	k.record(o, mo.OpLockRequest, 0, off, n, lock, uint8(shouldReturn), fl, err)
	if err != nil {
		return err
	}
	k.returnRange(o, off, n, shouldReturn, shouldFlush, lock)
	if reply {
		k.mu.Lock()
		live := o.live()
		var s mo.Seqno
		if live {
			s = o.beginCallLocked()
		}
		k.mu.Unlock()
		if live {
			rerr := k.callLockCompleted(o, s, off, n)
			o.endCall()
			k.record(o, mo.OpLockCompleted, s, off, n, 0, 0, 0, rerr)
		}
	}
	return nil
}

// ChangeAttributes implements mo.Control. Turning may_cache off for an
// object no longer mapped terminates it.
func (c *control) ChangeAttributes(attr mo.Attributes, reply bool) error {
	k, o := c.k, c.o
	k.mu.Lock()
	err := c.enterLocked()
	if err == nil {
		err = attr.Check(mo.Size(k.ps))
	}
	if err == nil {
		if o.def != nil {
			attr.CopyStrategy = mo.CopyTemporary // the kernel's own anonymous memory
		}
		o.attr = attr
	}
	c.refuseLocked(err)
	unused := err == nil && !attr.MayCache && o.mapRefs == 0 && o.live()
	var s mo.Seqno
	if err == nil && reply {
		s = o.beginCallLocked()
	}
	k.mu.Unlock()
	var fl mo.EventFlags
	if attr.MayCache {
		fl |= mo.FlagMayCache
	}
	if reply {
		fl |= mo.FlagReply
	}
	k.record(o, mo.OpChangeAttributes, 0, 0, attr.ClusterSize, 0, uint8(attr.CopyStrategy), fl, err)
	if err == nil && reply {
		rerr := k.callChangeCompleted(o, s, attr)
		o.endCall()
		k.record(o, mo.OpChangeCompleted, s, 0, attr.ClusterSize, 0, uint8(attr.CopyStrategy), 0, rerr)
	}
	if unused {
		k.terminate(o)
	}
	return err
}

// GetAttributes implements mo.Control.
func (c *control) GetAttributes() (mo.Attributes, error) {
	k, o := c.k, c.o
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := c.enterLocked(); err != nil {
		return mo.Attributes{}, err
	}
	return o.attr, nil
}

// Destroy implements mo.Control (memory_object_destroy): the object's
// pages are flushed without being returned, accesses to its mappings fail
// from now on, and terminate is sent from a new goroutine, as a kernel
// thread would after the message (the pager may be inside a call that
// terminate would wait for).
func (c *control) Destroy(reason error) error {
	k, o := c.k, c.o
	k.mu.Lock()
	err := c.enterLocked()
	first := err == nil && !o.destroy
	if first {
		o.destroy = true
		k.freeObjectPagesLocked(o, 0, o.size)
		k.wakeLocked()
	}
	c.refuseLocked(err)
	k.mu.Unlock()
	k.record(o, mo.OpDestroy, 0, 0, 0, 0, 0, 0, err)
	if first {
		k.bg.Add(1)
		go func() {
			defer k.bg.Done()
			k.terminate(o)
		}()
	}
	return err
}

// Ready implements mo.Control: data requests may go from now on.
func (c *control) Ready(attr mo.Attributes) error {
	k, o := c.k, c.o
	k.mu.Lock()
	err := c.enterLocked()
	if err == nil {
		err = attr.Check(mo.Size(k.ps))
	}
	if err == nil {
		if o.pager == nil || o.def != nil || o.attr.CopyStrategy == mo.CopyTemporary {
			attr.CopyStrategy = mo.CopyTemporary
		}
		o.attr = attr
		if o.state == objInit {
			o.state = objReady
		}
		k.wakeLocked()
	}
	c.refuseLocked(err)
	k.mu.Unlock()
	var fl mo.EventFlags
	if attr.MayCache {
		fl |= mo.FlagMayCache
	}
	k.record(o, mo.OpReady, 0, 0, attr.ClusterSize, 0, uint8(attr.CopyStrategy), fl, err)
	return err
}

// SynchronizeCompleted implements mo.Control.
func (c *control) SynchronizeCompleted(off mo.Offset, n mo.Size) error {
	k, o := c.k, c.o
	k.mu.Lock()
	err := c.enterLocked()
	if err == nil {
		err = mo.KernInvalidArgument
		for i := range o.syncs {
			if o.syncs[i].off == off && o.syncs[i].len == n && !o.syncs[i].done {
				o.syncs[i].done = true
				err = nil
				k.wakeLocked()
				break
			}
		}
	}
	c.refuseLocked(err)
	k.mu.Unlock()
	k.record(o, mo.OpSynchronizeCompleted, 0, off, n, 0, 0, 0, err)
	return err
}
