package mo

// Object is a memory object as its pager implements it: the receiving end
// of the memory_object_* calls a kernel makes. One value stands for one
// object; several kernels may call it, each with its own Control.
//
// Every method carries the call's sequence number and the Control that
// identifies the calling kernel. See the package documentation for what the
// error results mean and for the rules each call obeys.
type Object interface {
	// Init tells the pager that ctl's kernel maps the object and will use
	// pageSize for every call involving it (memory_object_init). The pager
	// answers with ctl.Ready, inside the call or later, once it can take
	// data requests. An error other than MigNoReply drops ctl.
	Init(seqno Seqno, ctl Control, pageSize Size) error

	// DataRequest asks for [offset, offset+length) with at least the access
	// desired (memory_object_data_request). The pager answers each page once
	// with ctl.DataSupply, ctl.DataUnavailable or ctl.DataError.
	DataRequest(seqno Seqno, ctl Control, offset Offset, length Size, desired Prot) error

	// DataUnlock asks the pager to lift a lock it set on the range, for the
	// access desired (memory_object_data_unlock). The pager answers with
	// ctl.LockRequest with a lock that no longer prohibits it, or
	// ctl.DataError.
	DataUnlock(seqno Seqno, ctl Control, offset Offset, length Size, desired Prot) error

	// DataReturn hands back pages evicted from, or flushed by, the kernel
	// (memory_object_data_return). Only dirty or precious pages come back;
	// dirty says they were modified, kernelCopy that the kernel kept a copy.
	// data is lent for the duration of the call only.
	DataReturn(seqno Seqno, ctl Control, offset Offset, data []byte, dirty, kernelCopy bool) error

	// Synchronize asks the pager to make the range stable (msync); the
	// kernel has already returned the dirty pages in it. The pager answers
	// with ctl.SynchronizeCompleted (memory_object_synchronize).
	Synchronize(seqno Seqno, ctl Control, offset Offset, length Size, flags SyncFlags) error

	// Terminate says ctl's kernel no longer maps the object, either because
	// the last mapping went or because the pager called Destroy
	// (memory_object_terminate). It is the last call with ctl; when it
	// returns, the pager has forgotten ctl and makes no further call on it.
	Terminate(seqno Seqno, ctl Control) error

	// LockCompleted answers a LockRequest made with reply set, once the
	// kernel has done it (memory_object_lock_completed).
	LockCompleted(seqno Seqno, ctl Control, offset Offset, length Size) error

	// SupplyCompleted answers a DataSupply made with reply set: result is
	// nil if every page was taken, otherwise the Mach code and errorOffset
	// the first page refused (memory_object_supply_completed).
	SupplyCompleted(seqno Seqno, ctl Control, offset Offset, length Size, result error, errorOffset Offset) error

	// ChangeCompleted answers a ChangeAttributes made with reply set
	// (memory_object_change_completed).
	ChangeCompleted(seqno Seqno, ctl Control, attr Attributes) error
}

// FaultSafe is implemented by an Object whose DataRequest and DataUnlock
// may be called from a page-fault handler. On TamaGo that handler runs on
// the system stack (g0) with interrupts masked, so such a call must not
// block (no channel operation that can wait, no mutex another goroutine
// may hold across a wait, no sleep), must not use defer (fatal on the
// system stack), must not allocate, and must return promptly; it may
// answer inside the call through the Control. A kernel makes these two
// calls inline only for an object that says FaultSafe() is true, so that a
// synchronous answer costs no goroutine switch; for any other object it
// makes them from a goroutine of its own while the faulting goroutine
// waits. Such a call must not panic either: made from the fault handler,
// on the system stack, a panic cannot be recovered and stops the program
// with the runtime's report (a kernel recovers the panics of the calls it
// makes from goroutines).
type FaultSafe interface {
	FaultSafe() bool
}

// DefaultObject is an object of the default pager, which backs the kernel's
// temporary (anonymous) memory.
type DefaultObject interface {
	Object

	// DataInitialize gives the pager the first contents of pages it has never
	// seen, as the kernel pages them out for the first time
	// (memory_object_data_initialize). data is lent for the duration of the
	// call only.
	DataInitialize(seqno Seqno, ctl Control, offset Offset, data []byte) error
}

// DefaultPager creates the objects that back a kernel's anonymous memory
// (memory_object_create, sent to the default memory manager).
type DefaultPager interface {
	// Create makes a new object of the given size for ctl's kernel, which
	// uses pageSize. Create stands for Init: it is seqno 0 on (object, ctl),
	// the kernel sends no Init for ctl, and the object answers with
	// ctl.Ready. Errors: KernInvalidArgument for a bad page size or a size
	// that is zero or not a multiple of it; KernResourceShortage when the
	// pager cannot take more objects.
	Create(ctl Control, size Size, pageSize Size) (DefaultObject, error)
}

// Control is the kernel's side of one object for one kernel
// (memory_object_control): the pager's way to give data to that kernel and
// to steer its cache. A kernel makes one Control per object it maps; a Control
// value is comparable and may key a pager's map.
//
// Every method may be called from any goroutine, inside a call on the Object
// or not. See the package documentation for the errors.
type Control interface {
	// DataSupply gives the kernel data for [offset, offset+len(data)); the
	// length is a multiple of the page size. lock prohibits accesses until
	// unlocked; precious says the pager keeps no copy, so the kernel must
	// return the pages even clean. With reply the kernel answers with
	// SupplyCompleted. The kernel copies data before DataSupply returns.
	// Pages the kernel did not ask for or already holds are refused, not
	// overwritten (memory_object_data_supply).
	DataSupply(offset Offset, data []byte, lock Prot, precious, reply bool) error

	// DataUnavailable says the range has no data: the kernel uses zero-filled
	// pages (memory_object_data_unavailable).
	DataUnavailable(offset Offset, length Size) error

	// DataError says the range cannot be provided; accesses to it fail
	// with reason (memory_object_data_error).
	DataError(offset Offset, length Size, reason error) error

	// LockRequest asks the kernel to act on the cached pages of the range:
	// return them as shouldReturn says, flush them if shouldFlush, and set
	// lock as the prohibited access. With reply the kernel calls
	// LockCompleted when done (memory_object_lock_request).
	LockRequest(offset Offset, length Size, shouldReturn ReturnPolicy, shouldFlush bool, lock Prot, reply bool) error

	// ChangeAttributes changes the object's attributes; with reply the
	// kernel answers with ChangeCompleted (memory_object_change_attributes).
	ChangeAttributes(attr Attributes, reply bool) error

	// GetAttributes reports the object's attributes
	// (memory_object_get_attributes).
	GetAttributes() (Attributes, error)

	// Destroy asks the kernel to shut the object down; the kernel does not
	// interpret reason, stops paging and calls Terminate
	// (memory_object_destroy).
	Destroy(reason error) error

	// Ready says the pager has finished Init and takes requests, with the
	// object's initial attributes (memory_object_ready).
	Ready(attr Attributes) error

	// SynchronizeCompleted answers Synchronize
	// (memory_object_synchronize_completed).
	SynchronizeCompleted(offset Offset, length Size) error
}

// BackingStoreID names a backing store of a default pager
// (the backing_store port of default_pager_backing_store_create).
type BackingStoreID uint32

// BackingStoreInfo describes one store (default_pager_backing_store_info).
// Page counts are in the store's page size.
type BackingStoreInfo struct {
	Priority    int
	ClusterSize Size
	PageSize    Size
	Pages       uint64 // capacity
	FreePages   uint64
}

// BackingStores is the management interface of a default pager, used by
// tasks that hold a store (never by the kernel), so its calls are
// synchronous.
type BackingStores interface {
	// BackingStoreCreate makes an empty store; space is added to it in a
	// way particular to the store (default_pager_add_segment).
	BackingStoreCreate(priority int, clusterSize Size) (BackingStoreID, error)

	// BackingStoreDelete deletes a store after moving its pages to the
	// remaining stores (default_pager_backing_store_delete). It returns
	// nil (KERN_SUCCESS); KernInvalidArgument if id names no store or its
	// pages cannot all be moved elsewhere, in which case nothing is moved;
	// KernFailure if the pager does not support deletion.
	BackingStoreDelete(id BackingStoreID) error

	// BackingStoreInfo reports on a store, or KernInvalidArgument if id
	// names no store.
	BackingStoreInfo(id BackingStoreID) (BackingStoreInfo, error)
}

// NoReplies implements Object's three reply calls (LockCompleted,
// SupplyCompleted, ChangeCompleted) for a pager that never sets reply in
// its requests. A kernel may still send one (a pager cannot stop a
// confused kernel), and it still holds a sequence number: each call is
// handed to Acknowledge, which checks the Control and takes and leaves the
// call's turn, so that the calls after it are not held up. A pager embeds
// NoReplies in its object and sets Acknowledge when it makes the object.
type NoReplies struct {
	Acknowledge func(seqno Seqno, ctl Control) error
}

// LockCompleted implements Object: there is nothing to do but keep the
// seqno order.
func (r NoReplies) LockCompleted(seqno Seqno, ctl Control, offset Offset, length Size) error {
	return r.Acknowledge(seqno, ctl)
}

// SupplyCompleted implements Object; see LockCompleted.
func (r NoReplies) SupplyCompleted(seqno Seqno, ctl Control, offset Offset, length Size, result error, errorOffset Offset) error {
	return r.Acknowledge(seqno, ctl)
}

// ChangeCompleted implements Object; see LockCompleted.
func (r NoReplies) ChangeCompleted(seqno Seqno, ctl Control, attr Attributes) error {
	return r.Acknowledge(seqno, ctl)
}
