package vm

import (
	"sync/atomic"

	"github.com/tamach/tamach/mo"
)

// objState is an object's life, as GNU Mach's vm_object tracks it with
// pager_initialized, pager_ready and terminating (vm/vm_object.h).
type objState uint8

const (
	objInit        objState = iota // init (or create) sent, no ready yet
	objReady                       // ready received: data requests may go
	objTerminating                 // terminate decided: no call but terminate
	objTerminated                  // terminate sent: the pager is forgotten
)

// object is the kernel's record of one memory object (GNU Mach's
// struct vm_object): its pager and control, attributes (may_cache,
// copy_strategy, cluster size), sequence numbers, and how many mappings
// and pages it has. Fields are protected by Kernel.mu unless noted.
type object struct {
	id    uint16
	pager mo.Object
	def   mo.DefaultObject // pager, if it is a default pager's object
	ctl   *control         // immutable
	// inline: the pager is mo.FaultSafe, so the fault handler makes its
	// data_request and data_unlock calls itself; otherwise a call
	// worker makes them (immutable).
	inline  bool
	size    mo.Size // immutable
	attr    mo.Attributes
	state   objState
	destroy bool // the pager called Destroy
	seq     mo.Seqno
	// calls counts kernel-to-pager calls under way (seqno taken, call not
	// returned). The fault handler calls a fault-safe pager only when it
	// is zero: then the seqno it takes is due at once, so a pager's
	// Sequencer.Enter cannot wait on g0. Atomic so that a call can end
	// without the kernel lock.
	calls atomic.Int32
	// returned is, for a default pager's object (anonymous memory), a
	// bit per page set when the page first goes to the pager
	// (data_initialize or data_return); nil for other objects. A page
	// whose bit is clear has no data at the pager, so the kernel
	// zero-fills it without a data_request, as Mach does for the pages
	// its existence map (vm_external) says were never paged out.
	returned []uint32
	// deferredDone counts the calls on the object the call workers made
	// (atomic: they count without the lock). waitDone and waitTries count
	// the waits of the pager's own accesses meanwhile (ownWaitLocked).
	deferredDone atomic.Uint32
	waitDone     uint32
	waitTries    int
	mapRefs      int // map entries naming the object
	resident     int // frames holding its pages
	errOff       mo.Offset
	errWhy       error                      // reason of the last data_error
	unlockErr    error                      // the pager's refusal of the last data_unlock it refused
	failed       atomic.Pointer[PagerPanic] // the pager panicked (recover.go)
	syncs        []syncReq
}

type syncReq struct {
	off  mo.Offset
	len  mo.Size
	done bool
}

// control is the kernel's mo.Control for one object. One per object per
// kernel; a pointer, so comparable as mo requires.
type control struct {
	k *Kernel
	o *object
}

var _ mo.Control = (*control)(nil)

func (k *Kernel) objectByID(id uint16) *object {
	if id == 0 || int(id) > len(k.objects) {
		return nil
	}
	return k.objects[id-1]
}

// newObjectLocked registers an object and gives it an id.
// Preconditions: k.mu is held.
func (k *Kernel) newObjectLocked(pager mo.Object, size mo.Size) (*object, error) {
	id := -1
	for i, o := range k.objects {
		if o == nil {
			id = i
			break
		}
	}
	if id < 0 {
		if len(k.objects) >= 1<<16-1 {
			return nil, ErrNoSpace
		}
		k.objects = append(k.objects, nil)
		id = len(k.objects) - 1
	}
	fs, safe := pager.(mo.FaultSafe)
	o := &object{id: uint16(id + 1), pager: pager, size: size, inline: safe && fs.FaultSafe(),
		attr: mo.Attributes{CopyStrategy: mo.CopyDelay}}
	o.ctl = &control{k: k, o: o}
	k.objects[id] = o
	if pager != nil {
		k.byPager[pager] = o
	}
	return o, nil
}

// forgetObjectLocked removes a terminated object with no pages.
// Preconditions: k.mu is held.
func (k *Kernel) forgetObjectLocked(o *object) {
	if k.objects[o.id-1] == o {
		k.objects[o.id-1] = nil
	}
	if k.byPager[o.pager] == o {
		delete(k.byPager, o.pager)
	}
}

// beginCallLocked takes the next seqno of o for a call the caller makes
// once it has unlocked, and counts the call as under way; endCall ends it.
// Preconditions: k.mu is held.
func (o *object) beginCallLocked() mo.Seqno {
	s := o.seq
	o.seq++
	o.calls.Add(1)
	return s
}

func (o *object) endCall() { o.calls.Add(-1) }

// neverReturned reports whether page index of a default pager's object
// was never given to the pager: its contents are zeros.
// Preconditions: k.mu is held.
func (o *object) neverReturned(index uint32) bool {
	return o.returned != nil && o.returned[index/32]&(1<<(index%32)) == 0
}

// setReturned records that page index goes to the pager.
// Preconditions: k.mu is held.
func (o *object) setReturned(index uint32) {
	if o.returned != nil {
		o.returned[index/32] |= 1 << (index % 32)
	}
}

// live reports whether calls other than terminate may still go to the pager.
func (o *object) live() bool { return o.state == objInit || o.state == objReady }

// initObject sends init for a new object and returns the pager's refusal,
// if any; a refused object is forgotten (memory_object_init: an error
// answer drops the control).
func (k *Kernel) initObject(o *object) error {
	k.mu.Lock()
	s := o.beginCallLocked()
	k.mu.Unlock()
	err := k.callInit(o, s, mo.Size(k.ps))
	o.endCall()
	k.record(o, mo.OpInit, s, 0, mo.Size(k.ps), 0, 0, 0, err)
	if !mo.Accepted(err) {
		k.mu.Lock()
		o.state = objTerminated
		k.forgetObjectLocked(o)
		k.wakeLocked()
		k.mu.Unlock()
		return err
	}
	return nil
}

// terminate ends o: pages that must go back (dirty or precious pages of a
// non-temporary object, unless the pager destroyed it) are returned, every
// page is freed, and terminate is sent as the last call
// (memory_object_terminate; GNU Mach vm_object_terminate cleans the pages
// of a non-temporary object before it).
func (k *Kernel) terminate(o *object) {
	k.mu.Lock()
	if !o.live() {
		k.mu.Unlock()
		return
	}
	o.state = objTerminating
	k.mu.Unlock()
	if !o.destroy && o.attr.CopyStrategy != mo.CopyTemporary && o.def == nil {
		k.returnRange(o, 0, o.size, mo.ReturnAll, true, noLockChange)
	}
	k.mu.Lock()
	// Wait for page-outs under way: their frames are lent to the pager.
	for k.objectBusyLocked(o) {
		k.waitLocked()
	}
	k.freeObjectPagesLocked(o, 0, o.size)
	s := o.beginCallLocked()
	k.mu.Unlock()
	err := k.callTerminate(o, s)
	o.endCall()
	k.record(o, mo.OpTerminate, s, 0, 0, 0, 0, 0, err)
	k.mu.Lock()
	o.state = objTerminated
	// A data_request sent just before may have left absent pages: free them.
	k.freeObjectPagesLocked(o, 0, o.size)
	if o.mapRefs == 0 {
		k.forgetObjectLocked(o)
	}
	k.wakeLocked()
	k.mu.Unlock()
}

// objectBusyLocked reports whether a page of o is in the laundry.
// Preconditions: k.mu is held.
func (k *Kernel) objectBusyLocked(o *object) bool {
	if o.resident == 0 {
		return false
	}
	p := k.pool
	for i := range p.frames {
		f := &p.frames[i]
		if f.obj == o.id && f.flags&pgLaundry != 0 {
			return true
		}
	}
	return false
}

// freeObjectPagesLocked unmaps and frees every page of o in [off, off+n)
// that is not in the laundry, dirty or not (a flush).
// Preconditions: k.mu is held.
func (k *Kernel) freeObjectPagesLocked(o *object, off mo.Offset, n mo.Size) int {
	if o.resident == 0 {
		return 0
	}
	first, last := uint32(off>>k.shift), uint32((uint64(off)+uint64(n)-1)>>k.shift)
	p := k.pool
	freed := 0
	if int(last-first) < len(p.frames) {
		for idx := first; idx <= last; idx++ {
			if i := p.lookup(o.id, idx); i >= 0 && k.flushFrameLocked(o, i) {
				freed++
			}
		}
	} else {
		for i := range p.frames {
			f := &p.frames[i]
			if f.obj == o.id && f.index >= first && f.index <= last && k.flushFrameLocked(o, i) {
				freed++
			}
		}
	}
	if freed > 0 {
		k.wakeLocked()
	}
	return freed
}

// flushFrameLocked unmaps and frees frame i of o unless it is in the
// laundry (the page-out frees it when the pager is done).
// Preconditions: k.mu is held.
func (k *Kernel) flushFrameLocked(o *object, i int) bool {
	f := &k.pool.frames[i]
	if f.flags&pgLaundry != 0 {
		return false
	}
	k.unmapPageLocked(o, f.index, false)
	k.pool.release(i)
	o.resident--
	k.stats.Flushed++
	return true
}

// unmapPageLocked removes every mapping of page index of o and returns
// whether any was modified (merged into the frame's dirty bit if the page
// is resident and harvest is set).
// Preconditions: k.mu is held.
func (k *Kernel) unmapPageLocked(o *object, index uint32, harvest bool) bool {
	if o.mapRefs == 0 {
		return false
	}
	modified := false
	for ei := range k.entries {
		va, ok := k.entries[ei].vaOfIndex(o, index, k.shift)
		if !ok {
			continue
		}
		// Extract and IsModified rather than Lookup, which decodes the
		// whole mapping: this is on the path of every eviction.
		if _, mapped := k.pm.Extract(va); mapped {
			modified = k.pm.IsModified(va) || modified
			k.pm.Remove(va, va+k.ps)
		}
	}
	return modified
}

// protectPageLocked lowers the protection of every mapping of the page to
// its entry's protection less lock; ProtRead in lock removes the mappings
// (ARM cannot map a page without read). It returns whether any mapping was
// modified.
// Preconditions: k.mu is held.
func (k *Kernel) protectPageLocked(o *object, index uint32, lock mo.Prot) bool {
	if o.mapRefs == 0 {
		return false
	}
	off := mo.Offset(index) << k.shift
	modified := false
	for ei := range k.entries {
		e := &k.entries[ei]
		va, ok := e.vaOf(o, off)
		if !ok {
			continue
		}
		m, mapped := k.pm.Lookup(va)
		if !mapped {
			continue
		}
		modified = modified || m.Modified
		prot := e.prot &^ lock
		if prot&mo.ProtRead == 0 || prot == 0 {
			k.pm.Remove(va, va+k.ps)
		} else {
			k.pm.Protect(va, va+k.ps, moToPmap(prot))
		}
	}
	return modified
}

// harvestLocked merges the modified and referenced state of every mapping
// of frame i into it, clearing the mappings' state when clear is set (so
// that the next write or access is seen).
// Preconditions: k.mu is held.
func (k *Kernel) harvestLocked(o *object, i int, clearMod, clearRef bool) {
	f := &k.pool.frames[i]
	if o.mapRefs == 0 {
		return
	}
	for ei := range k.entries {
		va, ok := k.entries[ei].vaOfIndex(o, f.index, k.shift)
		if !ok {
			continue
		}
		if clearMod {
			if k.pm.ClearModified(va) {
				f.flags |= pgDirty
			}
		} else if k.pm.IsModified(va) {
			f.flags |= pgDirty
		}
		if clearRef {
			if k.pm.ClearReferenced(va) {
				f.flags |= pgReferenced
			}
		} else if k.pm.IsReferenced(va) {
			f.flags |= pgReferenced
		}
	}
}
