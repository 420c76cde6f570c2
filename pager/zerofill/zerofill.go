// Package zerofill is the reference pager for anonymous memory: an object
// reads as zeros until the kernel returns a page, and then reads as what was
// returned. It answers every call synchronously, inside the call.
//
// Storage is one zeroed arena of the object's size, allocated when the object
// is made, plus a bit per MinPageSize granule that says whether a kernel ever
// returned data there. A page with no such granule is answered with
// DataUnavailable (the kernel zero-fills it, no copy); any other page with
// DataSupply straight from the arena. Neither path allocates nor takes a
// lock: the kernel is found in the object's mo.Kernels registry, which
// keeps the control seen last at hand (the fault path of a kernel makes one
// data request per fault, so its cost is the pager's share of every
// zero-fill fault).
//
// # Invariants
//
//   - arena[i] is zero unless the bit of granule i/mo.MinPageSize is set in
//     written. A bit is set (atomically) after the granule's data is
//     copied in, so a request that sees it set reads the data.
//   - The kernels that initialised the object, and those terminated or
//     dropped, are in kernels (mo.Kernels), which answers for the
//     lifecycle rules: unknown control, second init, call after
//     terminate.
//   - Calls of one control are handled in seqno order (its turn, taken by
//     kernels.Enter); the pager never calls a Control while it holds mu or
//     a seqno turn, since the kernel may call the object back from inside
//     the Control method.
//
// # Lock order
//
// A seqno turn before Object.mu. Neither is held across a call on a
// Control. kernels takes no lock on the data path.
package zerofill

import (
	"sync"
	"sync/atomic"

	"github.com/tamach/tamach/mo"
)

// Object is one zero-fill memory object. It implements mo.DefaultObject.
type Object struct {
	mo.NoReplies

	size mo.Size

	kernels mo.Kernels[struct{}] // no state of its own per kernel

	mu      sync.Mutex
	arena   []byte          // written under mu (see Invariants)
	written []atomic.Uint32 // a bit per mo.MinPageSize granule; set under mu
}

var _ mo.DefaultObject = (*Object)(nil)

// New returns an object of size bytes (a multiple of mo.MinPageSize), or
// KernInvalidArgument for a size that is zero or not such a multiple.
func New(size mo.Size) (*Object, error) {
	if size == 0 || size%mo.MinPageSize != 0 || size > 1<<40 {
		return nil, mo.KernInvalidArgument
	}
	o := &Object{
		size:    size,
		arena:   make([]byte, size),
		written: make([]atomic.Uint32, (size/mo.MinPageSize+31)/32),
	}
	o.Acknowledge = o.kernels.Acknowledge
	return o, nil
}

// Size returns the object's size.
func (o *Object) Size() mo.Size { return o.size }

// Pager is a default pager (mo.DefaultPager) whose objects are zero-fill
// Objects.
type Pager struct{}

// Create makes a zero-fill object of size bytes for ctl's kernel; it counts
// as that kernel's Init. The object calls ctl.Ready before Create returns.
func (Pager) Create(ctl mo.Control, size, pageSize mo.Size) (mo.DefaultObject, error) {
	if err := mo.CheckPageSize(pageSize); err != nil {
		return nil, err
	}
	if size == 0 || size%pageSize != 0 || ctl == nil {
		return nil, mo.KernInvalidArgument
	}
	o, err := New(size)
	if err != nil {
		return nil, err
	}
	if err := o.Init(0, ctl, pageSize); err != nil {
		return nil, err
	}
	return o, nil
}

// Init implements mo.Object: the page size must divide the object's size.
func (o *Object) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	_, err := o.kernels.Init(seqno, ctl, pageSize, func(ps mo.Size) (struct{}, error) {
		if o.size%ps != 0 {
			return struct{}{}, mo.KernInvalidArgument
		}
		return struct{}{}, nil
	})
	if err != nil {
		return err
	}
	return ctl.Ready(mo.Attributes{CopyStrategy: mo.CopyDelay})
}

// hasData reports whether a kernel returned data in [off, off+ps). It
// takes no lock: the bits are set after the data (see Invariants). A page
// is a power of two of granules and aligned to its size, so up to 32 of
// them are bits of one word.
func (o *Object) hasData(off mo.Offset, ps mo.Size) bool {
	// An object is at most 1<<40 bytes (New), so granules fit 32 bits.
	g := uint32(off / mo.Offset(mo.MinPageSize))
	n := uint32(ps / mo.MinPageSize)
	if n < 32 && g%32+n <= 32 {
		return o.written[g/32].Load()>>(g%32)&(1<<n-1) != 0
	}
	for end := g + n; g < end; g++ {
		if o.written[g/32].Load()&(1<<(g%32)) != 0 {
			return true
		}
	}
	return false
}

// setWrittenLocked sets the bits of [off, off+n). Preconditions: o.mu is
// held and the data is in the arena.
func (o *Object) setWrittenLocked(off mo.Offset, n mo.Size) {
	for g := uint64(off / mo.Offset(mo.MinPageSize)); g < uint64((off+mo.Offset(n))/mo.Offset(mo.MinPageSize)); g++ {
		w := &o.written[g/32]
		w.Store(w.Load() | 1<<(g%32))
	}
}

// FaultSafe implements mo.FaultSafe: DataRequest and DataUnlock answer
// inside the call without blocking, deferring or allocating, so a kernel
// may make them from its fault handler.
func (o *Object) FaultSafe() bool { return true }

// DataRequest implements mo.Object: one answer per page, DataUnavailable for
// a page never returned, DataSupply otherwise. It allocates nothing.
func (o *Object) DataRequest(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	k, err := o.kernels.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	ps := k.PageSize()
	if length == ps && offset < mo.Offset(o.size) && uint64(offset)&uint64(ps-1) == 0 && desired.Valid() {
		// One page, the request of a fault: checked without CheckRange's
		// 64-bit arithmetic (the size is a multiple of the page size).
		k.Leave(seqno)
		if o.hasData(offset, ps) {
			ctl.DataSupply(offset, o.arena[offset:offset+mo.Offset(ps)], mo.ProtNone, false, false)
		} else {
			ctl.DataUnavailable(offset, ps)
		}
		return nil
	}
	if err := mo.CheckRange(offset, length, ps, o.size); err != nil || !desired.Valid() {
		k.Leave(seqno)
		return mo.KernInvalidArgument
	}
	k.Leave(seqno)
	// A kernel cannot return a page it is asking for, so the pages of the
	// range do not change under the answers below (see package doc).
	for off := offset; off < offset+mo.Offset(length); off += mo.Offset(ps) {
		if o.hasData(off, ps) {
			ctl.DataSupply(off, o.arena[off:off+mo.Offset(ps)], mo.ProtNone, false, false)
		} else {
			ctl.DataUnavailable(off, ps)
		}
	}
	return nil
}

// DataUnlock implements mo.Object. This pager never locks pages, so it
// unlocks at once.
func (o *Object) DataUnlock(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, length, o.size)
	if err != nil {
		return err
	}
	k.Leave(seqno)
	if !desired.Valid() {
		return mo.KernInvalidArgument
	}
	return ctl.LockRequest(offset, length, mo.ReturnNone, false, mo.ProtNone, false)
}

func (o *Object) store(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, mo.Size(len(data)), o.size)
	if err != nil {
		return err
	}
	defer k.Leave(seqno)
	o.mu.Lock()
	copy(o.arena[offset:], data)
	o.setWrittenLocked(offset, mo.Size(len(data)))
	o.mu.Unlock()
	return nil
}

// DataReturn implements mo.Object: the data is copied into the arena before
// the call returns, so later requests read it back.
func (o *Object) DataReturn(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	return o.store(seqno, ctl, offset, data)
}

// DataInitialize implements mo.DefaultObject like DataReturn.
func (o *Object) DataInitialize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte) error {
	return o.store(seqno, ctl, offset, data)
}

// Synchronize implements mo.Object: data is stable once returned, so it
// completes at once.
func (o *Object) Synchronize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, flags mo.SyncFlags) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, length, o.size)
	if err != nil {
		return err
	}
	k.Leave(seqno)
	if !flags.Valid() {
		return mo.KernInvalidArgument
	}
	return ctl.SynchronizeCompleted(offset, length)
}

// Terminate implements mo.Object: ctl is forgotten; the data stays, for the
// other kernels and for a later Init.
func (o *Object) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	k, err := o.kernels.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	o.kernels.Terminate(k)
	k.Leave(seqno)
	return nil
}
