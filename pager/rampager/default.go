package rampager

import (
	"sync"

	"github.com/tamach/tamach/mo"
)

// Default is a default pager (mo.DefaultPager) whose objects keep their
// pages in RAM backing stores, and which implements the backing-store
// management calls (mo.BackingStores). It is a reference for motest's
// default-pager scenarios, not a production pager: pages are one store slot
// each, of the pager's single page size.
//
// A page is written to the store of highest priority with a free slot (the
// first created among equals). BackingStoreDelete moves a store's pages to
// the remaining stores first, and moves nothing if they lack room.
//
// # Invariants
//
//   - Every page an object holds is exactly one used slot of one store; a
//     store's free list holds exactly its other slots.
//
//   - An object's one kernel, made by Create, is in its kernels
//     (mo.Kernels), which answers for the lifecycle rules.
//
// # Lock order
//
// A seqno turn (defaultObject.kernels) before Default.mu. No Control method
// is called with either held.
type Default struct {
	pageSize mo.Size

	mu      sync.Mutex
	stores  []*store         // protected by mu; in creation order
	objects []*defaultObject // protected by mu
	nextID  mo.BackingStoreID
}

type store struct {
	id       mo.BackingStoreID
	priority int
	cluster  mo.Size
	slots    [][]byte
	free     []int
}

type slotRef struct {
	st  *store
	idx int
}

type defaultObject struct {
	mo.NoReplies

	d       *Default
	size    mo.Size
	kernels mo.Kernels[struct{}] // the one control, Create's
	kernel  *mo.Kernel[struct{}] // Create's control's entry; immutable

	pages map[mo.Offset]slotRef // protected by d.mu
}

var (
	_ mo.DefaultPager  = (*Default)(nil)
	_ mo.BackingStores = (*Default)(nil)
	_ mo.DefaultObject = (*defaultObject)(nil)
)

// NewDefault returns a default pager with no stores, for kernels with the
// page size.
func NewDefault(pageSize mo.Size) (*Default, error) {
	if err := mo.CheckPageSize(pageSize); err != nil {
		return nil, err
	}
	return &Default{pageSize: pageSize, nextID: 1}, nil
}

func (d *Default) storeLocked(id mo.BackingStoreID) *store {
	for _, s := range d.stores {
		if s.id == id {
			return s
		}
	}
	return nil
}

// BackingStoreCreate implements mo.BackingStores.
func (d *Default) BackingStoreCreate(priority int, clusterSize mo.Size) (mo.BackingStoreID, error) {
	if clusterSize%d.pageSize != 0 {
		return 0, mo.KernInvalidArgument
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &store{id: d.nextID, priority: priority, cluster: clusterSize}
	d.nextID++
	d.stores = append(d.stores, s)
	return s.id, nil
}

// AddSegment gives a store room for pages more pages
// (default_pager_add_segment, with RAM for the device).
func (d *Default) AddSegment(id mo.BackingStoreID, pages uint64) error {
	if pages == 0 || pages > 1<<20 {
		return mo.KernInvalidArgument
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.storeLocked(id)
	if s == nil {
		return mo.KernInvalidArgument
	}
	for i := uint64(0); i < pages; i++ {
		s.free = append(s.free, len(s.slots))
		s.slots = append(s.slots, make([]byte, d.pageSize))
	}
	return nil
}

// BackingStoreInfo implements mo.BackingStores.
func (d *Default) BackingStoreInfo(id mo.BackingStoreID) (mo.BackingStoreInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.storeLocked(id)
	if s == nil {
		return mo.BackingStoreInfo{}, mo.KernInvalidArgument
	}
	return mo.BackingStoreInfo{Priority: s.priority, ClusterSize: s.cluster, PageSize: d.pageSize,
		Pages: uint64(len(s.slots)), FreePages: uint64(len(s.free))}, nil
}

// allocLocked takes a free slot from the best store other than except.
// Preconditions: d.mu is held.
func (d *Default) allocLocked(except *store) (slotRef, bool) {
	var best *store
	for _, s := range d.stores {
		if s != except && len(s.free) > 0 && (best == nil || s.priority > best.priority) {
			best = s
		}
	}
	if best == nil {
		return slotRef{}, false
	}
	i := best.free[len(best.free)-1]
	best.free = best.free[:len(best.free)-1]
	return slotRef{best, i}, true
}

// BackingStoreDelete implements mo.BackingStores: the store's pages move to
// the other stores, or nothing moves and the result is KernInvalidArgument.
func (d *Default) BackingStoreDelete(id mo.BackingStoreID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.storeLocked(id)
	if s == nil {
		return mo.KernInvalidArgument
	}
	used := len(s.slots) - len(s.free)
	room := 0
	for _, o := range d.stores {
		if o != s {
			room += len(o.free)
		}
	}
	if used > room {
		return mo.KernInvalidArgument
	}
	for _, o := range d.objects {
		for off, ref := range o.pages {
			if ref.st != s {
				continue
			}
			to, _ := d.allocLocked(s)
			copy(to.st.slots[to.idx], s.slots[ref.idx])
			o.pages[off] = to
		}
	}
	for i, o := range d.stores {
		if o == s {
			d.stores = append(d.stores[:i], d.stores[i+1:]...)
			break
		}
	}
	return nil
}

// Create implements mo.DefaultPager.
func (d *Default) Create(ctl mo.Control, size, pageSize mo.Size) (mo.DefaultObject, error) {
	if ctl == nil || pageSize != d.pageSize || size == 0 || size%pageSize != 0 || size > 1<<40 {
		return nil, mo.KernInvalidArgument
	}
	o := &defaultObject{d: d, size: size, pages: make(map[mo.Offset]slotRef)}
	o.Acknowledge = o.kernels.Acknowledge
	// Create is seqno 0, the Init of ctl.
	k, err := o.kernels.Init(0, ctl, pageSize, func(mo.Size) (struct{}, error) { return struct{}{}, nil })
	if err != nil {
		return nil, err
	}
	o.kernel = k
	d.mu.Lock()
	d.objects = append(d.objects, o)
	d.mu.Unlock()
	if err := ctl.Ready(mo.Attributes{CopyStrategy: mo.CopySymmetric}); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *defaultObject) enter(seqno mo.Seqno, ctl mo.Control) error {
	_, err := o.kernels.Enter(seqno, ctl)
	return err
}

// leave ends the turn enter took.
func (o *defaultObject) leave(seqno mo.Seqno) { o.kernel.Leave(seqno) }

// Init implements mo.Object: a default object is made by Create, which
// stands for Init, so Init is refused (and another control dropped).
func (o *defaultObject) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	_, err := o.kernels.Init(seqno, ctl, pageSize, func(mo.Size) (struct{}, error) { return struct{}{}, mo.KernInvalidArgument })
	return err
}

// FaultSafe implements mo.FaultSafe: DataRequest and DataUnlock answer
// inside the call without blocking, deferring or allocating.
func (o *defaultObject) FaultSafe() bool { return true }

// DataRequest implements mo.Object.
func (o *defaultObject) DataRequest(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	if err := o.enter(seqno, ctl); err != nil {
		return err
	}
	err := mo.CheckRange(offset, length, o.d.pageSize, o.size)
	o.leave(seqno)
	if err != nil || !desired.Valid() {
		return mo.KernInvalidArgument
	}
	ps := o.d.pageSize
	for off := offset; off < offset+mo.Offset(length); off += mo.Offset(ps) {
		o.d.mu.Lock()
		ref, ok := o.pages[off]
		var data []byte
		if ok {
			data = ref.st.slots[ref.idx]
		}
		o.d.mu.Unlock()
		if ok {
			ctl.DataSupply(off, data, mo.ProtNone, false, false)
		} else {
			ctl.DataUnavailable(off, ps)
		}
	}
	return nil
}

// DataUnlock implements mo.Object; pages are never locked.
func (o *defaultObject) DataUnlock(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	if err := o.enter(seqno, ctl); err != nil {
		return err
	}
	err := mo.CheckRange(offset, length, o.d.pageSize, o.size)
	o.leave(seqno)
	if err != nil {
		return err
	}
	return ctl.LockRequest(offset, length, mo.ReturnNone, false, mo.ProtNone, false)
}

func (o *defaultObject) store(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte) error {
	if err := o.enter(seqno, ctl); err != nil {
		return err
	}
	defer o.leave(seqno)
	if err := mo.CheckRange(offset, mo.Size(len(data)), o.d.pageSize, o.size); err != nil {
		return err
	}
	ps := mo.Offset(o.d.pageSize)
	o.d.mu.Lock()
	defer o.d.mu.Unlock()
	need := 0
	for off := offset; off < offset+mo.Offset(len(data)); off += ps {
		if _, ok := o.pages[off]; !ok {
			need++
		}
	}
	free := 0
	for _, s := range o.d.stores {
		free += len(s.free)
	}
	if need > free {
		return mo.KernResourceShortage
	}
	for off := offset; off < offset+mo.Offset(len(data)); off += ps {
		ref, ok := o.pages[off]
		if !ok {
			ref, _ = o.d.allocLocked(nil)
			o.pages[off] = ref
		}
		copy(ref.st.slots[ref.idx], data[off-offset:])
	}
	return nil
}

// DataReturn implements mo.Object.
func (o *defaultObject) DataReturn(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	return o.store(seqno, ctl, offset, data)
}

// DataInitialize implements mo.DefaultObject.
func (o *defaultObject) DataInitialize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte) error {
	return o.store(seqno, ctl, offset, data)
}

// Synchronize implements mo.Object.
func (o *defaultObject) Synchronize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, flags mo.SyncFlags) error {
	if err := o.enter(seqno, ctl); err != nil {
		return err
	}
	err := mo.CheckRange(offset, length, o.d.pageSize, o.size)
	o.leave(seqno)
	if err != nil {
		return err
	}
	return ctl.SynchronizeCompleted(offset, length)
}

// Terminate implements mo.Object: the object's slots are freed.
func (o *defaultObject) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	if err := o.enter(seqno, ctl); err != nil {
		return err
	}
	o.kernels.Terminate(o.kernel)
	o.d.mu.Lock()
	for _, ref := range o.pages {
		ref.st.free = append(ref.st.free, ref.idx)
	}
	o.pages = nil
	for i, x := range o.d.objects {
		if x == o {
			o.d.objects = append(o.d.objects[:i], o.d.objects[i+1:]...)
			break
		}
	}
	o.d.mu.Unlock()
	o.leave(seqno)
	return nil
}
