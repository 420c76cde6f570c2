// Package mo is the Mach external memory-object protocol in Go: the calls a
// kernel makes on a memory object (memory_object_*) and the calls a pager
// makes back on the kernel's control (memory_object_control), with Mach's
// types and return codes. It knows nothing of frames or page tables; pagers
// see only this package, and kernels implement Control.
//
// # Calls are one-way
//
// As in Mach, where these are messages, no call waits for an answer. The
// kernel calls Object.DataRequest and the data arrives with
// Control.DataSupply, either inside DataRequest (a synchronous pager, the
// fast path) or later from any goroutine (an asynchronous pager). Nothing
// here assumes which. Consequently:
//
//   - A kernel must not hold a lock across a call into an Object that the
//     same object's Control methods take: the pager may call back inside.
//   - Likewise a pager must not hold a lock, or its turn in a Sequencer,
//     across a call on a Control: the kernel may call the object back from
//     inside it (a kernel carries out LockRequest inside the call, sending
//     DataReturn for the pages it flushes, then LockCompleted).
//   - A kernel may make calls on one object from several goroutines at once.
//     Each call carries its Seqno so that a pager can serve them in order;
//     Sequencer does that.
//
// # What an Object method's error means
//
// Results are nil or a Return; KernSuccess is never returned as an error
// value (Return.Err maps it to nil), so err != nil keeps its usual meaning.
//
// nil (KERN_SUCCESS) or MigNoReply: the call was taken; an answer, where the
// call expects one, comes inside the call or later. Any other error: the call
// was refused, nothing was changed, and no answer will come. A pager refuses
// with the Mach code that says why: KernInvalidArgument for a page size that
// is not a power of two, an unaligned, empty, wrapping or out-of-range range;
// KernTerminated for a call on a control it was told to terminate. For Init,
// a refusal drops that control: the pager forgets it and never calls it, and
// the kernel never calls the object with it again (memory_object_init:
// "any return value other than KERN_SUCCESS or MIG_NO_REPLY will cause
// mach_msg_server to remove the memory cache control reference").
//
// Control methods return KernInvalidArgument for a malformed answer (a size
// that is not a multiple of that kernel's page size, an unaligned offset, an
// unknown policy or protection) and KernTerminated once the object was
// terminated for that control; in both cases the kernel changes nothing.
//
// # Sequence numbers
//
// Mach numbers messages per port. With no ports, a kernel numbers the calls
// it makes on one object with one control: Init (or DefaultPager.Create) is
// seqno 0 and each later call on that (object, control) pair takes the next
// number, without gaps, until Terminate, the last. Calls from different
// kernels are numbered independently; Mach gave no order among messages
// from independent kernels either.
//
// # Buffers
//
// The data slice given to Object.DataReturn and DefaultObject.DataInitialize
// is lent for the duration of the call only: the kernel frees or reuses the
// frame when the call returns. A pager that keeps the data or answers later
// copies it first. Control.DataSupply copies the data into the kernel's
// page before it returns, so the pager's buffer is free again at once.
//
// # Multiple kernels
//
// One Object value may be mapped by several kernels (memory_object_init:
// "the memory manager will receive a memory_object_init call from each
// kernel, containing a unique set of control and name ports. Note that each
// kernel may also use a different page size"). The Control passed to each
// call identifies the kernel; a pager keys its per-kernel state by it (any
// Control is comparable). All sizes in calls involving one kernel are
// multiples of the page size that kernel gave at Init.
//
// Kernels is that bookkeeping for a pager: which controls sent Init, with
// what page size and in what turn, which were terminated or dropped, and
// the pager's state for each. It answers the lifecycle errors below the
// same way for every pager (KernInvalidArgument for a control that never
// sent Init and for a second Init, KernTerminated for a call after
// terminate or after a refused Init), and its Enter, the lookup of every
// call, allocates nothing and takes no lock, so it serves the fault path.
//
// # Lifecycle rules (from the Mach manual pages)
//
//   - init: once per kernel that maps the object, each with its own control
//     and page size; an error answer drops that kernel's control.
//   - data_return: only dirty or precious pages are returned; clean
//     non-precious pages are dropped silently, so a pager cannot count on
//     the kernel keeping or returning them. kernel_copy says the kernel kept
//     a copy. The kernel may request the page again at once, even before the
//     pager has finished with the return.
//   - destroy: the pager asks; the kernel does not interpret the reason and
//     answers with terminate. A pager that wants its dirty data first calls
//     LockRequest with shouldFlush and a write lock, then Destroy.
//   - terminate: sent when the last mapping goes, or after destroy; after it
//     no further call for that object and control reaches the pager, and the
//     pager makes no further call on that control once Terminate returns.
//   - backing_store_delete: KERN_SUCCESS, KERN_INVALID_ARGUMENT (no such
//     store, or its pages cannot be moved elsewhere), KERN_FAILURE (not
//     supported); the pages in the deleted store move to the others first.
//
// # Allocation
//
// Nothing on the data path allocates: the mo helpers (CheckRange, Sequencer
// on its uncontended path, Kernels.Enter, EnterRange and Lookup,
// Trace.Record) allocate nothing, and a pager that answers DataRequest
// synchronously can do so without heap allocation (the reference pagers in
// pager/ prove it with testing.AllocsPerRun), because the vm fault path
// calls DataRequest where it must not allocate.
//
// # Lock order
//
// Sequencer.mu and Trace.mu are leaves: nothing is called while they are
// held. Kernels.mu is taken only by Kernels.Init and Close; Init holds it
// across the pager's accept function (so before any lock that function
// takes) and while it allocates. The other Kernels methods take no lock,
// so a pager may call them with its own locks held, and the fault handler
// may call Enter and EnterRange. A pager's own lock order therefore reads:
// a seqno turn (taken by Kernels.Enter or EnterRange, or Sequencer.Enter)
// before the pager's locks.
package mo
