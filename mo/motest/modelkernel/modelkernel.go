// Package modelkernel is a model of the kernel side of the memory-object
// protocol: a page cache with Mach's page states and no MMU, reached through
// ReadAt and WriteAt. It implements mo.Control for the objects it maps and
// the motest.Kernel harness, so that the kernel scenarios of motest are
// themselves tested before vm exists, and so that pagers can be exercised by
// a kernel that behaves as Mach's did.
//
// It follows GNU Mach and XNU where the manual pages are silent:
//   - The kernel waits for the pager's ready before its first data_request
//     (GNU Mach's pager_ready).
//   - An answer for a page that is not waiting for data (resident, or never
//     requested) is refused with KERN_INVALID_ARGUMENT and changes nothing;
//     XNU discards such data silently, vm counts and logs it.
//   - Terminate after the last unmap first returns dirty and precious pages
//     (XNU vm_object_terminate cleans a non-temporary object); terminate
//     after destroy discards them (the pager was told to flush first).
//   - lock_request is carried out inside the call, returns included, so a
//     lock_request followed by destroy returns the dirty data first.
//
// # Invariants
//
//   - A page is absent (waiting for the pager), resident, or in error; only
//     resident pages have data, and only they are dirty or precious.
//   - Calls on one object take consecutive seqnos from 0 (Init); Terminate
//     is sent only when no other call is under way (object.inflight is 0)
//     and it is the last.
//   - No lock is held across a call into a pager: pagers answer inside calls.
//
// # Lock order
//
// Kernel.mu only; it is a leaf with respect to pagers (never held while
// calling one). Kernel.cond (on mu) is broadcast on every change of a page
// or an object's state.
package modelkernel

import (
	"sync"

	"github.com/tamach/tamach/mo"
)

// Flaws make a Kernel break one rule on purpose, to show that the kernel
// scenarios catch it. The zero value is a correct kernel.
type Flaws struct {
	ReturnsCleanPages   bool // data_return for clean non-precious pages
	DropsPrecious       bool // precious pages dropped on eviction
	CallsAfterTerminate bool // one more data_request after terminate
	TerminateOnEveryMap bool // init again for every mapping
	AcceptsUnrequested  bool // data_supply for pages not waiting overwrites them
}

// Kernel is one model kernel. Several may map one object.
type Kernel struct {
	pageSize mo.Size
	id       uint16
	trace    *mo.Trace
	flaws    Flaws
	bg       sync.WaitGroup // goroutines started by the kernel

	mu      sync.Mutex
	cond    sync.Cond             // L is &mu
	objects map[mo.Object]*object // protected by mu: objects not terminated
	nextObj uint32                // protected by mu

	// Counters, protected by mu.
	Refused, Requests, Returns uint64
}

type objState uint8

const (
	objInit       objState = iota // Init sent, ready not yet received
	objReady                      // taking requests
	objDropped                    // Init refused
	objDestroyed                  // Destroy received, Terminate coming
	objTerminated                 // Terminate sent
)

// object is the kernel's view of one memory object; it is the mo.Control
// the pager gets.
type object struct {
	k    *Kernel
	obj  mo.Object
	id   uint32
	size mo.Size

	// All protected by k.mu.
	state    objState
	maps     int
	next     mo.Seqno
	inflight int
	pages    map[mo.Offset]*page
	attr     mo.Attributes
	syncs    map[mo.Offset]mo.Size // synchronize sent, completion not received
}

type pageState uint8

const (
	pageAbsent pageState = iota
	pageResident
	pageError
)

type page struct {
	state    pageState
	data     []byte
	dirty    bool
	precious bool
	lock     mo.Prot
	unlock   bool // data_unlock sent and not answered
	err      error
}

// New returns a kernel with the page size, or KernInvalidArgument.
func New(pageSize mo.Size, id uint16, trace *mo.Trace) (*Kernel, error) {
	if err := mo.CheckPageSize(pageSize); err != nil {
		return nil, err
	}
	k := &Kernel{pageSize: pageSize, id: id, trace: trace, objects: make(map[mo.Object]*object)}
	k.cond.L = &k.mu
	return k, nil
}

// NewFlawed returns a kernel that breaks rules as f says, for tests of the
// kernel scenarios.
func NewFlawed(pageSize mo.Size, f Flaws) (*Kernel, error) {
	k, err := New(pageSize, 1, nil)
	if err == nil {
		k.flaws = f
	}
	return k, err
}

// PageSize implements motest.Kernel.
func (k *Kernel) PageSize() mo.Size { return k.pageSize }

// Quiesce waits for the kernel's own goroutines (motest.Quiescer).
func (k *Kernel) Quiesce() { k.bg.Wait() }

func (k *Kernel) record(o *object, e mo.Event) {
	e.Kernel, e.Object = k.id, o.id
	k.trace.Record(e)
}

// call makes a kernel-to-pager call with the object's next seqno, unless the
// object is dropped or terminated.
func (o *object) call(op mo.Op, offset mo.Offset, length mo.Size, fn func(mo.Seqno) error) error {
	k := o.k
	k.mu.Lock()
	if o.state == objDropped || o.state == objTerminated {
		k.mu.Unlock()
		return mo.KernTerminated
	}
	s := o.next
	o.next++
	o.inflight++
	k.mu.Unlock()
	err := fn(s)
	k.record(o, mo.Event{Op: op, Seqno: s, Offset: offset, Size: length, Result: mo.ReturnOf(err)})
	k.mu.Lock()
	o.inflight--
	k.cond.Broadcast()
	k.mu.Unlock()
	return err
}

// Region is a mapping of an object (motest.Region).
type Region struct {
	o        *object
	mu       sync.Mutex
	unmapped bool
}

// Map maps obj, sending Init on its first mapping in this kernel.
func (k *Kernel) Map(obj mo.Object, size mo.Size) (*Region, error) {
	if obj == nil || size == 0 || size%k.pageSize != 0 {
		return nil, mo.KernInvalidArgument
	}
	k.mu.Lock()
	o := k.objects[obj]
	if o != nil && k.flaws.TerminateOnEveryMap {
		o = nil
	}
	if o != nil {
		o.maps++
		k.mu.Unlock()
		return &Region{o: o}, nil
	}
	k.nextObj++
	o = &object{k: k, obj: obj, id: k.nextObj, size: size, maps: 1, pages: make(map[mo.Offset]*page), syncs: make(map[mo.Offset]mo.Size)}
	k.objects[obj] = o
	k.mu.Unlock()
	err := o.call(mo.OpInit, 0, k.pageSize, func(s mo.Seqno) error { return obj.Init(s, o, k.pageSize) })
	if !mo.Accepted(err) {
		k.mu.Lock()
		o.state = objDropped
		if k.objects[obj] == o {
			delete(k.objects, obj)
		}
		k.cond.Broadcast()
		k.mu.Unlock()
		return nil, err
	}
	return &Region{o: o}, nil
}

// Unmap removes the mapping; the last one terminates the object unless its
// attributes let the kernel cache it.
func (r *Region) Unmap() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unmapped {
		return mo.KernInvalidArgument
	}
	r.unmapped = true
	o := r.o
	k := o.k
	k.mu.Lock()
	o.maps--
	last := o.maps == 0 && !o.attr.MayCache && o.state != objDestroyed
	k.mu.Unlock()
	if last {
		return o.terminate(true)
	}
	return nil
}

// terminate returns the object's dirty and precious pages if clean is set,
// then sends Terminate, the last call.
func (o *object) terminate(clean bool) error {
	k := o.k
	if clean {
		o.evict(0, o.size)
	}
	k.mu.Lock()
	for o.inflight > 0 {
		k.cond.Wait()
	}
	if o.state == objTerminated || o.state == objDropped {
		k.mu.Unlock()
		return nil
	}
	s := o.next
	o.next++
	o.state = objTerminated
	if k.objects[o.obj] == o {
		delete(k.objects, o.obj)
	}
	o.pages = map[mo.Offset]*page{}
	k.cond.Broadcast()
	k.mu.Unlock()
	err := o.obj.Terminate(s, o)
	k.record(o, mo.Event{Op: mo.OpTerminate, Seqno: s, Result: mo.ReturnOf(err)})
	if k.flaws.CallsAfterTerminate {
		o.obj.DataRequest(s+1, o, 0, k.pageSize, mo.ProtRead)
	}
	return err
}

// Evict pages out every resident page of the object.
func (r *Region) Evict() error {
	return r.o.evict(0, r.o.size)
}

// evict returns dirty and precious pages of a range and drops every
// resident page.
func (o *object) evict(offset mo.Offset, length mo.Size) error {
	k := o.k
	ps := mo.Offset(k.pageSize)
	var first error
	for off := offset; off < offset+mo.Offset(length); off += ps {
		k.mu.Lock()
		p := o.pages[off]
		if p == nil || p.state != pageResident {
			k.mu.Unlock()
			continue
		}
		delete(o.pages, off)
		send := p.dirty || (p.precious && !k.flaws.DropsPrecious) || k.flaws.ReturnsCleanPages
		k.mu.Unlock()
		if send {
			if err := o.dataReturn(off, p.data, p.dirty, false); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (o *object) dataReturn(off mo.Offset, data []byte, dirty, kernelCopy bool) error {
	o.k.mu.Lock()
	o.k.Returns++
	o.k.mu.Unlock()
	return o.call(mo.OpDataReturn, off, mo.Size(len(data)), func(s mo.Seqno) error {
		return o.obj.DataReturn(s, o, off, data, dirty, kernelCopy)
	})
}

// ReadAt reads the object's data, faulting pages in.
func (r *Region) ReadAt(p []byte, off int64) (int, error) {
	return r.access(p, off, false)
}

// WriteAt writes the object's data, faulting pages in and dirtying them.
func (r *Region) WriteAt(p []byte, off int64) (int, error) {
	return r.access(p, off, true)
}

func (r *Region) access(b []byte, off int64, write bool) (int, error) {
	o := r.o
	k := o.k
	if off < 0 || uint64(off)+uint64(len(b)) > uint64(o.size) || uint64(off)+uint64(len(b)) < uint64(off) {
		return 0, mo.KernInvalidAddress
	}
	n := 0
	ps := int64(k.pageSize)
	for n < len(b) {
		cur := off + int64(n)
		po := mo.Offset(cur &^ (ps - 1))
		in := int(cur - int64(po))
		chunk := min(len(b)-n, int(ps)-in)
		if err := o.fault(po, write, func(data []byte) {
			if write {
				copy(data[in:], b[n:n+chunk])
			} else {
				copy(b[n:n+chunk], data[in:])
			}
		}); err != nil {
			return n, err
		}
		n += chunk
	}
	return n, nil
}

// fault makes the page at off resident with the access allowed, then runs
// use on its data with k.mu held.
func (o *object) fault(off mo.Offset, write bool, use func([]byte)) error {
	k := o.k
	want := mo.ProtRead
	if write {
		want = mo.ProtWrite
	}
	k.mu.Lock()
	for {
		switch o.state {
		case objDropped:
			k.mu.Unlock()
			return mo.KernMemoryFailure
		case objDestroyed, objTerminated:
			k.mu.Unlock()
			return mo.KernTerminated
		case objInit:
			k.cond.Wait()
			continue
		}
		p := o.pages[off]
		switch {
		case p == nil:
			p = &page{state: pageAbsent}
			o.pages[off] = p
			k.Requests++
			k.mu.Unlock()
			err := o.call(mo.OpDataRequest, off, k.pageSize, func(s mo.Seqno) error {
				return o.obj.DataRequest(s, o, off, k.pageSize, want|mo.ProtRead)
			})
			k.mu.Lock()
			if !mo.Accepted(err) && o.pages[off] == p && p.state == pageAbsent {
				// Refused: no answer will come.
				p.state, p.err = pageError, mo.KernMemoryFailure
				k.cond.Broadcast()
			}
		case p.state == pageAbsent:
			k.cond.Wait()
		case p.state == pageError:
			err := p.err
			k.mu.Unlock()
			return err
		case p.lock&want != 0:
			if !p.unlock {
				p.unlock = true
				k.mu.Unlock()
				err := o.call(mo.OpDataUnlock, off, k.pageSize, func(s mo.Seqno) error {
					return o.obj.DataUnlock(s, o, off, k.pageSize, want)
				})
				k.mu.Lock()
				if !mo.Accepted(err) {
					k.mu.Unlock()
					return mo.KernProtectionFailure
				}
			} else {
				k.cond.Wait()
			}
		default:
			use(p.data)
			if write {
				p.dirty = true
			}
			k.mu.Unlock()
			return nil
		}
	}
}

// The mo.Control methods of object follow.

// checkAnswerLocked validates a range given by the pager.
// Preconditions: k.mu is held.
func (o *object) checkAnswerLocked(offset mo.Offset, length mo.Size) error {
	switch o.state {
	case objDropped, objTerminated:
		o.k.Refused++
		return mo.KernTerminated
	}
	if err := mo.CheckRange(offset, length, o.k.pageSize, o.size); err != nil {
		o.k.Refused++
		return err
	}
	return nil
}

// answerLocked checks that every page of the range waits for data.
// Preconditions: k.mu is held.
func (o *object) answerLocked(offset mo.Offset, length mo.Size) error {
	if err := o.checkAnswerLocked(offset, length); err != nil {
		return err
	}
	if o.state == objDestroyed {
		return mo.KernTerminated
	}
	for off := offset; off < offset+mo.Offset(length); off += mo.Offset(o.k.pageSize) {
		if o.k.flaws.AcceptsUnrequested {
			o.pages[off] = &page{state: pageAbsent}
			continue
		}
		if p := o.pages[off]; p == nil || p.state != pageAbsent {
			o.k.Refused++
			return mo.KernInvalidArgument
		}
	}
	return nil
}

// DataSupply implements mo.Control.
func (o *object) DataSupply(offset mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	k := o.k
	k.mu.Lock()
	err := o.answerLocked(offset, mo.Size(len(data)))
	if err == nil && !lock.Valid() {
		err = mo.KernInvalidArgument
	}
	if err == nil {
		ps := mo.Offset(k.pageSize)
		for off := offset; off < offset+mo.Offset(len(data)); off += ps {
			p := o.pages[off]
			p.data = append([]byte(nil), data[off-offset:off-offset+ps]...)
			p.state, p.precious, p.lock = pageResident, precious, lock
		}
		k.cond.Broadcast()
	}
	k.mu.Unlock()
	var fl mo.EventFlags
	if precious {
		fl = mo.FlagPrecious
	}
	k.record(o, mo.Event{Op: mo.OpDataSupply, Offset: offset, Size: mo.Size(len(data)), Prot: lock, Flags: fl, Result: mo.ReturnOf(err)})
	if err == nil && reply {
		o.call(mo.OpSupplyCompleted, offset, mo.Size(len(data)), func(s mo.Seqno) error {
			return o.obj.SupplyCompleted(s, o, offset, mo.Size(len(data)), nil, 0)
		})
	}
	return err
}

func (o *object) settle(op mo.Op, offset mo.Offset, length mo.Size, st pageState, reason error) error {
	k := o.k
	k.mu.Lock()
	err := o.answerLocked(offset, length)
	if err == nil {
		for off := offset; off < offset+mo.Offset(length); off += mo.Offset(k.pageSize) {
			p := o.pages[off]
			p.state = st
			if st == pageResident {
				p.data = make([]byte, k.pageSize)
			} else {
				p.err = mo.KernMemoryError
			}
		}
		k.cond.Broadcast()
	}
	k.mu.Unlock()
	k.record(o, mo.Event{Op: op, Offset: offset, Size: length, Result: mo.ReturnOf(err)})
	return err
}

// DataUnavailable implements mo.Control: the pages read as zeros.
func (o *object) DataUnavailable(offset mo.Offset, length mo.Size) error {
	return o.settle(mo.OpDataUnavailable, offset, length, pageResident, nil)
}

// DataError implements mo.Control: accesses to the pages fail with
// KERN_MEMORY_ERROR.
func (o *object) DataError(offset mo.Offset, length mo.Size, reason error) error {
	return o.settle(mo.OpDataError, offset, length, pageError, reason)
}

// LockRequest implements mo.Control, inside the call.
func (o *object) LockRequest(offset mo.Offset, length mo.Size, shouldReturn mo.ReturnPolicy, shouldFlush bool, lock mo.Prot, reply bool) error {
	k := o.k
	k.mu.Lock()
	err := o.checkAnswerLocked(offset, length)
	if err == nil && (!shouldReturn.Valid() || !lock.Valid()) {
		err = mo.KernInvalidArgument
	}
	k.mu.Unlock()
	var fl mo.EventFlags
	if shouldFlush {
		fl |= mo.FlagFlush
	}
	if reply {
		fl |= mo.FlagReply
	}
	k.record(o, mo.Event{Op: mo.OpLockRequest, Offset: offset, Size: length, Prot: lock, Policy: uint8(shouldReturn), Flags: fl, Result: mo.ReturnOf(err)})
	if err != nil {
		return err
	}
	ps := mo.Offset(k.pageSize)
	for off := offset; off < offset+mo.Offset(length); off += ps {
		k.mu.Lock()
		p := o.pages[off]
		if p == nil || p.state != pageResident {
			k.mu.Unlock()
			continue
		}
		// memory_object_lock_page (XNU vm/memory_object.c), reduced.
		send := (shouldReturn == mo.ReturnDirty && (p.dirty || (p.precious && shouldFlush))) ||
			(shouldReturn == mo.ReturnAll && (p.dirty || p.precious))
		data, dirty := p.data, p.dirty
		if send && !shouldFlush {
			data = append([]byte(nil), p.data...)
		}
		if shouldFlush {
			delete(o.pages, off)
		} else {
			p.lock = lock
			p.unlock = false
			if send {
				p.dirty = false
			}
		}
		k.cond.Broadcast()
		k.mu.Unlock()
		if send {
			o.dataReturn(off, data, dirty, !shouldFlush)
		}
	}
	if reply {
		o.call(mo.OpLockCompleted, offset, length, func(s mo.Seqno) error { return o.obj.LockCompleted(s, o, offset, length) })
	}
	return nil
}

// ChangeAttributes implements mo.Control.
func (o *object) ChangeAttributes(attr mo.Attributes, reply bool) error {
	k := o.k
	k.mu.Lock()
	err := o.checkAnswerLocked(0, k.pageSize)
	if err == nil {
		err = attr.Check(k.pageSize)
	}
	if err == nil {
		o.attr = attr
	}
	k.mu.Unlock()
	var fl mo.EventFlags
	if attr.MayCache {
		fl |= mo.FlagMayCache
	}
	if reply {
		fl |= mo.FlagReply
	}
	k.record(o, mo.Event{Op: mo.OpChangeAttributes, Size: attr.ClusterSize, Policy: uint8(attr.CopyStrategy), Flags: fl, Result: mo.ReturnOf(err)})
	if err == nil && reply {
		o.call(mo.OpChangeCompleted, 0, 0, func(s mo.Seqno) error { return o.obj.ChangeCompleted(s, o, attr) })
	}
	return err
}

// GetAttributes implements mo.Control.
func (o *object) GetAttributes() (mo.Attributes, error) {
	k := o.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := o.checkAnswerLocked(0, k.pageSize); err != nil {
		return mo.Attributes{}, err
	}
	return o.attr, nil
}

// Destroy implements mo.Control: the object stops paging, its pages are
// discarded, and Terminate follows from the kernel's goroutine.
func (o *object) Destroy(reason error) error {
	k := o.k
	k.mu.Lock()
	if err := o.checkAnswerLocked(0, k.pageSize); err != nil {
		k.mu.Unlock()
		return err
	}
	if o.state == objDestroyed {
		k.mu.Unlock()
		return nil
	}
	o.state = objDestroyed
	if k.objects[o.obj] == o {
		delete(k.objects, o.obj)
	}
	o.pages = map[mo.Offset]*page{}
	k.cond.Broadcast()
	k.mu.Unlock()
	k.record(o, mo.Event{Op: mo.OpDestroy})
	k.bg.Add(1)
	go func() {
		defer k.bg.Done()
		o.terminate(false)
	}()
	return nil
}

// Ready implements mo.Control.
func (o *object) Ready(attr mo.Attributes) error {
	k := o.k
	k.mu.Lock()
	err := o.checkAnswerLocked(0, k.pageSize)
	if err == nil {
		err = attr.Check(k.pageSize)
	}
	if err == nil {
		o.attr = attr
		if o.state == objInit {
			o.state = objReady
		}
		k.cond.Broadcast()
	}
	k.mu.Unlock()
	k.record(o, mo.Event{Op: mo.OpReady, Size: attr.ClusterSize, Policy: uint8(attr.CopyStrategy), Result: mo.ReturnOf(err)})
	return err
}

// SynchronizeCompleted implements mo.Control. A completion that matches no
// synchronize in progress is refused.
func (o *object) SynchronizeCompleted(offset mo.Offset, length mo.Size) error {
	k := o.k
	k.mu.Lock()
	err := o.checkAnswerLocked(offset, length)
	if err == nil {
		if l, ok := o.syncs[offset]; !ok || l != length {
			k.Refused++
			err = mo.KernInvalidArgument
		} else {
			delete(o.syncs, offset)
			k.cond.Broadcast()
		}
	}
	k.mu.Unlock()
	k.record(o, mo.Event{Op: mo.OpSynchronizeCompleted, Offset: offset, Size: length, Result: mo.ReturnOf(err)})
	return err
}

// Sync returns the dirty pages of the range (keeping them resident), sends
// synchronize and waits for synchronize_completed (msync with
// VM_SYNC_SYNCHRONOUS).
func (r *Region) Sync(off int64, n int) error {
	o := r.o
	k := o.k
	ps := int64(k.pageSize)
	start := mo.Offset(off &^ (ps - 1))
	end := mo.Offset((off + int64(n) + ps - 1) &^ (ps - 1))
	if off < 0 || n <= 0 || uint64(end) > uint64(o.size) {
		return mo.KernInvalidArgument
	}
	for p := start; p < end; p += mo.Offset(ps) {
		k.mu.Lock()
		pg := o.pages[p]
		if pg == nil || pg.state != pageResident || !pg.dirty {
			k.mu.Unlock()
			continue
		}
		pg.dirty = false
		data := append([]byte(nil), pg.data...)
		k.mu.Unlock()
		if err := o.dataReturn(p, data, true, true); err != nil {
			return err
		}
	}
	length := mo.Size(end - start)
	k.mu.Lock()
	if _, busy := o.syncs[start]; busy {
		k.mu.Unlock()
		return mo.KernAborted
	}
	o.syncs[start] = length
	k.mu.Unlock()
	err := o.call(mo.OpSynchronize, start, length, func(s mo.Seqno) error {
		return o.obj.Synchronize(s, o, start, length, mo.SyncSynchronous)
	})
	k.mu.Lock()
	defer k.mu.Unlock()
	if !mo.Accepted(err) {
		delete(o.syncs, start)
		return err
	}
	for {
		if _, ok := o.syncs[start]; !ok {
			return nil
		}
		if o.state == objTerminated || o.state == objDestroyed {
			return mo.KernTerminated
		}
		k.cond.Wait()
	}
}
