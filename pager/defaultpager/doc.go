// Package defaultpager is tamach's default pager: the pager of anonymous
// memory (mo.DefaultPager, memory_object_create) and of objects a task asks
// it to create (default_pager_object_create), keeping their pages in
// backing stores that can be added and deleted at run time
// (default_pager_backing_store_create, _delete, _info, add_segment) and
// reporting on itself (default_pager_info, default_pager_objects,
// default_pager_object_pages).
//
// # Stores, segments and slots
//
// A backing store has a priority and a cluster size and is made of
// segments, each a store.Store of slots of the pager's page size (Config
// PageSize, 4 KiB unless told). Adding a Store that already is a segment
// is refused: it would overlap an existing partition. Each segment keeps a
// bitmap of used slots (a set bit is a used slot; bits past its end are
// set), its free count and a scan hint; each store the sum of its
// segments' free counts. An object keeps one 8-byte reference per page of
// the pager's page size, allocated at creation: zero for a page never
// stored, otherwise the segment's number (plus one) and the slot.
//
// A kernel's page size is a multiple of the pager's: a 64 KiB kernel's page
// is sixteen 4 KiB pages, stored one slot each. Its sub-pages never stored
// read as zeros; a page none of whose sub-pages were stored is answered
// with data_unavailable.
//
// # Slot allocation and clustering
//
// A page that has no slot gets one in the store of highest priority with a
// free slot (the first created among equals). Within it, clustering keeps
// an object's neighbouring pages in neighbouring slots, as Mach's default
// pager did with its clusters: the object's pages are grouped into
// clusters of the store's cluster size (a power of two, at most 64 pages;
// 0 asks for DefaultClusterPages). A page whose cluster already has a page
// in that store takes the slot at the same distance from it, if free;
// otherwise the first free cluster-aligned run of cluster-size slots
// provides the page's place in it; otherwise any free slot is taken.
// Space is counted per page, so a cluster costs only the pages written.
//
// # Clusters of page-ins
//
// The pager announces a cluster size to each kernel in ready
// (mo.Attributes.ClusterSize; Config.ClusterPages): by default the
// cluster size of the store of highest priority that has segments, when
// each of them is a store.RunStore (RAM, Device: DefaultClusterPages
// unless the store was created with another), one page otherwise (File,
// Sealed, Faulty, whose pages move one per call anyway). It is rounded
// down to whole kernel pages, and is one page (0) when that leaves one:
// a 64 KiB kernel over 4 KiB slots with clusters of 4 asks page by page.
// The size is chosen when the kernel maps the object (Init, Create);
// stores added later do not change it.
//
// A kernel then asks for the aligned cluster around a missing page with
// one data_request (vm: the pages of the cluster that are not resident,
// next to the missing one, as frames above its low mark allow). The
// clustering of slot allocation above puts an object's aligned cluster
// in an aligned run of slots, so a page-out of the cluster's pages and
// its page-in are one store call each (Runs, below); pages of the
// request never stored are answered with data_unavailable, each kernel
// page on its own. Where access is random or strided the neighbours are
// evicted before they are used: a mapping with vm.BehaviorRandom asks for
// the missing page alone (BenchmarkTargetStridedPageIn: every fifth page
// of an object four times the frames, over SD, 65,069 instructions a page
// with the default against 22,705 with BehaviorRandom).
//
// # Runs: one store call for neighbouring slots
//
// Pages that sit in consecutive slots of one segment whose store is a
// store.RunStore (RAM, Device) move with one call, at most 64 pages:
//
//   - A page-out (data_return, data_initialize) writes its pages in runs
//     straight from the kernel's data: a page without a slot is given the
//     next slot of the run when allocation (the clustering above) yields
//     it, otherwise the run ends there and the slot is given back for the
//     next run.
//   - A page-in of a kernel page larger than the pager's reads its
//     stored sub-pages in runs into its one reserve buffer.
//   - A data_request of several kernel pages whose pages are all stored
//     in one run reads as many of them as one reserve buffer holds (a
//     buffer is Config.MaxPageSize bytes, 64 KiB unless told) with one
//     call and answers each kernel page from that buffer; anything else
//     (a page never stored, a store that moves one page per call, buffers
//     of one kernel page) is read kernel page by kernel page as before.
//
// No run takes memory beyond the one reserve buffer a page-in already
// takes, so the fault path is unchanged for fault-safe stores (RAM's
// runs are copies). A failed run is a failure of each of its pages: a
// failed read answers data_error for every kernel page the run touches,
// a failed write refuses the page-out as below, frees every slot taken
// for the run's pages and leaves its other slots holding unknown data
// (the kernel keeps those pages dirty and returns them again).
// Stats.PageIns and PageOuts count pages, not calls.
//
// # backing_store_delete
//
// BackingStoreDelete counts the store's used slots against the free slots
// of the remaining stores; if they do not fit, it answers
// KERN_INVALID_ARGUMENT and nothing moves. Otherwise it copies each page
// to a slot allocated in the remaining stores (with the same priority and
// clustering rules), and only when every copy succeeded does it switch the
// objects to the new slots and remove the store. A read or write that
// fails during the copy undoes it: the new slots are freed, every object
// still reads from the old store, and the answer is KERN_INVALID_ARGUMENT
// (the pages cannot be moved) wrapping the store's error. A pager made
// with Config.NoDelete answers KERN_FAILURE for every store it knows.
//
// # Memory: the reserve
//
// Everything the data path needs is allocated by New, Create and Init:
// the page buffers of the reserve (Config.Buffers of them, each of the
// largest kernel page size), the job queue of the asynchronous mode, each
// object's slot references and each kernel's bitmap of pending pages. A
// page-in reads into a reserve buffer (one kernel page, or a run of them,
// see Runs) and supplies from it; a page-out
// (data_return, data_initialize) writes from the kernel's lent page
// straight into the store, so it needs no memory at all and never waits
// for the memory it frees. The reserve is the page-ins' alone
// (BackingStoreDelete allocates its own copy buffer), and a page-in never
// waits for it: a page for which no buffer is free is marked pending in
// its kernel's bitmap, the data_request returns without that answer, and
// the page-in that gives a buffer back next answers the pending pages
// before it returns (Stats.Handoffs). Every buffer in use belongs to a
// page-in inside a Control call, which gives it back when that call
// returns, so a pending page is answered; Terminate drops its kernel's
// pending pages. DataRequest, DataReturn and DataInitialize allocate
// nothing (tests use testing.AllocsPerRun); errors are the exception (a
// failed page-out wraps the store's error, made after Pager.mu is
// released).
//
// # The fault path (mo.FaultSafe)
//
// Objects of a synchronous pager whose stores are all store.FaultSafe
// (RAM, Sealed and Faulty over RAM; not File, nor Device such as an SD
// card, which waits for the card and yields) say FaultSafe() true, and
// vm then calls their DataRequest and DataUnlock from its fault handler,
// which on TamaGo runs on g0 with IRQs masked: no defer, no allocation,
// no blocking there. Once an object has said true, AddSegment refuses a
// store that is not fault-safe. An asynchronous pager's objects say
// false: their answers come from the worker goroutine, and its queue send
// may fall back to answering inside the call anyway.
//
// What DataRequest and DataUnlock do: find the kernel and take and leave
// the seqno turn (Object.kernels, an mo.Kernels: no lock, no allocation,
// the control seen last at hand), count the answer under way, and for a
// page-in take a reserve buffer without waiting, read the store (RAM: a
// copy; Sealed: its own mutex, then an AES-GCM or ChaCha20-Poly1305 open
// into the buffer, no allocation, no defer), release Pager.mu, answer
// through the Control, retake Pager.mu and give the buffer back. None of
// it uses defer or allocates. The seqno turn is due at once: vm makes a
// call from the fault handler only when no other call on the object is
// under way, and the pager holds a turn only for the length of a call
// (begin leaves it before the answer). The one lock taken is Pager.mu
// (and a store's own leaf mutex under it). The kernels of an object are
// registered in its mo.Kernels (by Create and Init), which allocates
// holding only its own mutex, a lock the fault path never takes.
//
// Why Pager.mu cannot be held by another goroutine when the fault handler
// runs on the target: TamaGo has one core, cooperative scheduling and no
// sysmon (the runtime's haveSysmon is false for tamago), so nothing
// preempts a goroutine; the fault handler runs while every other
// goroutine is stopped at a point where it gave up the CPU, that is where
// it blocked (a channel, a mutex or cond, a sleep; an allocation, which
// may park in a GC assist or wait for the GC's workers to start), yielded
// (runtime.Gosched), or faulted and was answered Yield. With Pager.mu
// held this package does none of these:
//
//   - it allocates nothing: calls that grow the pager's slices (stores,
//     segments, objects) build the new slice while
//     holding only Pager.admin, a lock the fault path never takes, and
//     install it under Pager.mu; reports (Objects, ObjectPages,
//     CheckInvariants) size their results before taking Pager.mu, errors
//     are formatted after releasing it, and forgetting an object only
//     marks it gone (the next newObject drops it from the list);
//   - the only wait is p.cond.Wait (Terminate waiting for answers under
//     way), which releases Pager.mu while it waits;
//   - no Control method is called and no channel is used;
//   - the stores called are fault-safe ones (a page-out in the pageout
//     goroutine writes with Pager.mu held: RAM is a copy, Sealed an
//     AEAD seal into its own scratch slot and a copy, neither blocks
//     nor allocates); a pager with a store that is not fault-safe is not
//     FaultSafe at all, since File's system calls would hold Pager.mu
//     across a wait;
//   - the memory touched (pager state, reserve buffers, store memory,
//     pages vm lends through its PhysMem) is outside every vm window, so
//     it cannot fault. A RAM store over a vm window would break this; the
//     board's Store region is outside every window (store.PhysBytes).
//
// So a goroutine holding Pager.mu runs until it releases it, the fault
// handler's Lock finds it free, and likewise the Sealed store's mutex,
// which is only taken under Pager.mu (a store belongs to one pager). On
// the host, where the fault handler is an ordinary call, these locks may
// be contended and simply wait.
//
// # Answers
//
// Synchronous by default: data_request is answered inside the call, as
// vm's fault path wants. With Config.Async, data_request and synchronize
// are answered from the pager's own goroutine (or inside the call when its
// queue is full); page-outs are always stored inside the call, since their
// data is only lent for it.
//
// # Failures
//
//   - A read that fails, or a sealed page that fails authentication: the
//     kernel page is answered with data_error, reason the store's error.
//   - No room for a page-out: the call is refused with
//     KERN_RESOURCE_SHORTAGE before anything is written.
//   - A write that fails or is short: the call is refused with KERN_FAILURE
//     wrapping the store's error, a slot newly taken for the page (for
//     every page of a failed run, see Runs) is freed,
//     and the kernel keeps the page dirty (what was not paged out stays in
//     memory). Pages of the call written before the failure hold the
//     kernel's data, which it keeps anyway.
//   - A Sync that fails: synchronize_completed is still sent (Mach has no
//     error answer for it) and Stats.SyncErrors counts it.
//
// # Invariants
//
//   - Every non-zero slot reference of a live object names a used slot of
//     a live segment, and no two references name the same slot; a
//     segment's free count is its count of clear bits below its size, and a
//     store's free count the sum over its segments (CheckInvariants).
//   - An object's kernels, live, terminated and dropped, are in its
//     kernels (mo.Kernels), which answers for the lifecycle rules
//     (unknown control, second init, call after terminate).
//   - Calls of one control are handled in seqno order (its turn, taken by
//     kernels.Enter).
//   - No Control method is called with Pager.mu held or a seqno turn
//     taken.
//   - When Terminate returns, no answer for that control is under way or
//     will come: the kernel is marked dead (kernels.Terminate) under
//     Pager.mu, answers check that under Pager.mu, and Terminate waits
//     until the kernel's inflight count is zero.
//
// # Lock order
//
//	Pager.admin (management calls; held while they allocate; never on
//	  the data path)
//	  -> kernel.seq (a seqno turn)
//	    -> Pager.mu (all data-path state; never held while allocating,
//	       blocking or calling a Control; see The fault path)
//	      -> store mutexes (store.Sealed, store.Faulty; leaves)
//
//	Object.kernels' mutex (mo.Kernels: Create and Init only; held while
//	  it allocates; never on the data path)
//	  -> Pager.mu (Init's check that the object is not gone)
//
// Pager.mu is held across store I/O, which on the stores of a FaultSafe
// pager (RAM, sealed RAM) never blocks; nothing else blocks with it held
// but Pager.cond waits, which release it. Over a store that waits (File,
// Device), other goroutines wait for Pager.mu meanwhile; such a pager is
// never called from the fault handler.
package defaultpager
