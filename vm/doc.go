// Package vm is tamach's virtual-memory kernel: a frame pool and a page
// cache keyed by (object, offset), memory objects reached through their
// pagers with the protocol of package mo (vm implements mo.Control), an
// address map over one pmap window, the fault handler that resolves
// aborts in that window (vm implements pmap.FaultHandler), and eviction by
// a clock over referenced bits with page-out to the pagers.
//
// A Kernel is a value: a program (or a test) may run several, each with
// its own page size (4 KiB or 64 KiB), window, frame pool and objects. An
// object mapped by two kernels gets one init and one control from each.
//
// # Page states
//
// Per frame, 16 bytes (frame): the object and page index, the hash or
// free-list link, the wire count, page_lock and unlock_request, and the
// state bits of GNU Mach's struct vm_page (vm/vm_page.h): busy, wanted,
// absent, error, dirty, precious, reference, laundry, tabled, free, plus
// "filled by data_unavailable" (a default pager then gets data_initialize
// on page-out). The hash chains through the frames, so the cache
// allocates nothing after New. Modified and referenced state of mappings
// lives in pmap, per mapping; vm harvests it into dirty and reference
// before a mapping is removed or a page is paged out.
//
// # Invariants (CheckInvariants)
//
//   - A frame is either free (on the free list, no other bit) or tabled:
//     found by the hash under its (object, page index), within its object.
//   - absent implies busy; laundry implies busy; kept (page-out refused)
//     implies dirty or precious, unless busy. A busy page is never
//     writable through a mapping; an absent or error page is not mapped.
//   - A mapping allows no access its page's lock prohibits.
//   - An object's resident count is the number of its frames; its mapRefs
//     the number of map entries naming it. Map entries do not overlap.
//   - Calls on one object are numbered from 0 (init or create) without gap;
//     terminate is the last, and no call follows it.
//   - The fault handler makes a pager call only when no other call on the
//     object is under way, so a pager's mo.Sequencer never waits on g0;
//     the one exception is a call for the pager's own access from inside
//     a call worker's call, made by another worker (below).
//
// # Lock order
//
//	Kernel.mu (every field of the kernel, its objects, frames and map;
//	  also serialises every call on the Pmap)
//	  -> pmap.Pmap (no lock of its own)
//	  -> mo.Trace.mu (leaf)
//
// Kernel.mu is never held across a call into a pager (mo.Object), because
// the pager may answer inside the call through the control, which takes
// Kernel.mu. Pager locks are therefore never taken under Kernel.mu.
// Window memory is never touched with Kernel.mu held (frame memory is
// reached through PhysMem, outside every window), so no fault can happen
// while it is held by the faulting goroutine.
//
// Kernel.mu records whether it is held (kernelMutex.held, written by the
// holder only). In the abort hook on the target (pmap.InAbortMode: g0,
// IRQs masked, one core) nothing else runs until the handler returns, so
// the handler takes no lock there: it checks that no goroutine holds
// Kernel.mu and then runs as its holder would, without the atomic
// operations of a lock (Kernel.elided, HandleFault). Called from a
// goroutine, and always on the host, it try-locks Kernel.mu.
//
// # The fault path
//
// HandleFault runs on g0 with IRQs masked on the target. It does not
// block: it answers Yield when Kernel.mu is held (the goroutine retries
// later) and otherwise takes it, or in the abort hook runs elided (see
// "Lock order"); it allocates nothing, and it makes at most one pager
// call, with the lock released (elided: not held). A synchronous pager
// answers inside that call; its DataSupply or DataUnavailable of the one
// page takes Kernel.mu, which is free then (one core, IRQs masked:
// nothing else runs), or, when the handler runs elided, takes nothing
// either (answerLock); the handler retakes the lock (elided: nothing to
// retake) and maps the page: Retry. An asynchronous pager answers later from
// its own goroutine: the faulting goroutine is answered Yield, waits
// through the fault-yield trampoline and faults again, finding the page.
// A fault on g0 cannot wait: whatever would be a Yield is Unhandled there
// and LastUnhandled says why (a synchronous pager is still served). On the
// target a fault-safe pager called inline must not touch window memory
// that faults: that abort is taken inside the abort hook, where it cannot
// be served or resumed, and pmap stops the program with a report naming
// both faults (pmap's "Nested aborts"); the host, where HandleFault is
// simply called again, reports it Unhandled instead.
// Faults in runtime assembly (memmove, memclr) on a goroutine are ordinary
// goroutine faults and may Yield.
//
// A pager that is not mo.FaultSafe is never called on the fault path: the
// handler prepares the call and hands it to one of a small fixed pool of
// call workers (callWorkers goroutines, started by Pageout), and the
// access Yields until the answer. As for an inline call, the handler
// prepares one only when no other call on the object is under way, so no
// two workers hold calls on one object and none waits in a pager's
// Sequencer for another. Such a pager may touch mapped memory in
// data_request: the nested fault's call, if its pager is not fault-safe
// either, goes to another worker. When every worker is busy the call is
// not made and the access waits (Yield) for a worker to finish its call,
// as with slow pagers it ordinarily will; if none finishes a call while
// accesses retry about a million times (a chain of nested faults deeper
// than the pool, whose workers wait for each other), the fault is
// Unhandled with ReasonNoCallWorker instead of waiting forever; on g0 it
// is Unhandled at once.
//
// Such a pager may also touch its own object's memory in data_request.
// The abort hook names the faulting goroutine (pmap.Fault.G), and each
// worker knows its own (pmap.CurrentG) and the object of its call, so
// the handler tells the pager's own access from any other: for it alone
// a call on the object is made while the worker's call is under way
// (another worker makes it; the protocol lets a kernel call one object
// from several goroutines), so a pager that takes concurrent calls, or
// leaves its mo.Sequencer turn before touching, is served. An access that
// can only wait for the call it is made from (the page the pager was
// asked for, or another page whose call waits behind its own in a pager
// that serves one call at a time) waits while its object's calls make no
// progress for about a million retries, then is Unhandled with
// ReasonSelfDeadlock, the report naming its address; a page the pager
// answers meanwhile from another goroutine ends the wait before. Other
// goroutines' accesses to those pages wait as before, unreported.
//
// Anonymous memory (Allocate: an object of the default pager) is
// zero-filled by the kernel, without a data_request, for every page that
// never went to the pager: as Mach's existence map (vm_external) does, the
// object keeps a bit per page, set when the page first goes out with
// data_initialize or data_return; until then the pager has no data for
// it. Such a page is filled as by data_unavailable, so it goes out with
// data_initialize. Later faults on a page that went out ask the pager.
//
// The common faults take a quick path (quickFaultLocked) with few
// calls, since on ARM every call passes its arguments through memory: a
// translation fault on a resident page that allows the access (in a
// 4 KiB kernel, not wired: quickFaultLocked itself, whose one call is
// pmap's EnterPage; the others in fillFaultLocked), one on a
// page of anonymous memory to zero-fill, and one on
// a missing page of a fault-safe pager with nothing else in the way, whose
// one-page answer (DataSupply, DataUnavailable) fills the frame directly
// (answerPageLocked). Everything else goes through faultLocked and the
// range checks; both ways must give the same result. Instruction counts
// of each path under QEMU are in the target benchmarks (make bench).
//
// Waiting outside the fault path (ReadAt, WriteAt, Wire, Sync, Unmap) is
// a sync.Cond on Kernel.mu, broadcast when a page leaves transit, an
// object becomes ready or a synchronize completes.
//
// A pager may call that API from inside one of the kernel's calls on its
// object, but on that same object only for what needs no other call on
// it and no wait: a page that is resident and unlocked for the access.
// Anything else (its requested page, another missing page, the page it
// is being returned, Sync) would wait for the very call it is made from
// (the page's answer, or the pager's mo.Sequencer turn), and is refused
// with a *SelfDeadlockError (ErrSelfDeadlock) naming the call and the
// object offset. The kernel tells these calls from others as the fault
// handler tells a pager's own access: the call workers, and any goroutine
// while it makes a call itself (holdPage's data_request, a page-out,
// Sync's synchronize: enterCall, callerSlots of them), are recorded with
// the object of their call, and the API compares pmap.CurrentG with
// them, only when a call on the object is under way and the page is not
// ready (one compare otherwise).
//
// # Eviction
//
// When free frames fall below LowFrames the pageout goroutine (Pageout)
// frees frames until HighFrames are free. The clock gives referenced pages
// a second chance; clean non-precious pages are dropped silently; dirty and
// precious ones go back with data_return, their frame lent to the pager for
// the call (busy, in the laundry, unmapped) and freed when it returns. A
// fault on such a page waits and then requests it again. The fault path
// itself only drops clean pages. The last ReserveFrames frames are handed
// out only while a page-out is in progress, so that a pager that needs
// memory to page out can get it.
//
// A missing page of an object whose attributes give a cluster size is
// requested with the other pages of its aligned cluster: from the missing
// page outward, up to the first page that is resident or in transit (a
// dirty, precious or busy page is never part of a request, so no answer
// can overwrite it) or, of anonymous memory, never paged out (the kernel
// zero-fills those itself: the existence map), and only while more than
// LowFrames frames are free. The mapping's Behavior changes the cluster
// (MapOptions.Behavior, Region.SetBehavior: Mach's vm_behavior_set):
// BehaviorRandom asks for the missing page alone, BehaviorSequential for
// it and the pages after it.
// Short of frames for them, the clock runs first, at most
// clusterReclaimSteps steps per page, dropping clean pages only (with the
// usual second chance); no page is paged out for a cluster, so with only
// dirty pages about the request shrinks to the missing page. The
// cluster's other pages arrive clean and unreferenced: the clock's next
// pass drops those not touched meanwhile.
//
// A page-out the pager refuses leaves the page resident and dirty (a
// precious page stays too): data the pager has no copy of is never
// dropped, except by terminate, the object's last call. After
// MaxPageOutRefusals refusals in a row the page is kept (pgKept): the
// clock passes over it, so eviction goes on with other pages and the
// pageout goroutine does not retry it without end. Sync (and the pager's
// lock_request) still offer it; the first page-out the pager takes ends
// the state. When a frame is needed and only kept or wired pages are
// left, the copying calls return ErrPageOutRefused and faults are
// Unhandled with ReasonPageOutRefused.
package vm
