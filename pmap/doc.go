// Package pmap owns the ARMv7 MMU for virtual-address windows: short
// descriptor translation tables (4 KiB and 64 KiB pages), the Mach pmap
// operations over them, the cache and TLB upkeep they need, the decoding
// of aborts, and a software MMU (Walker) that host tests use in place of
// the hardware.
//
// pmap knows nothing of memory objects; vm knows nothing of descriptor
// bits. Everything but register access is plain Go and runs in host
// tests; register access is in the tamago-only files (hw_*.go, *_arm.s,
// one concern each).
//
// # Address spaces and tables
//
// A Pmap manages a window [Base, Base+Size), 1 MiB aligned, of the one L1
// table TamaGo builds (at vbar+0x4000, 0x80004000 on the i.MX6UL boards,
// a flat map of 1 MiB sections). New saves the window's L1 entries and
// makes them faults; Destroy restores them. No other L1 entry is ever
// written. Each L1 entry of the window is either a fault or points at a
// 1 KiB L2 table from the TableAllocator; a table is freed as soon as its
// last mapping goes. Physical memory is reached through PhysMem (the
// identity map on target, FakeMem on host) and upkeep through MMU
// (Hardware on target, RecordingMMU on host).
//
// # Modified and referenced: the split between pmap and vm
//
// ARMv7 has no dirty bit and no spare bits in a small-page descriptor.
// pmap keeps one byte of software state per mapping (beside the L2 table,
// in Go memory: 256 bytes per MiB of window) holding "protection allows
// write", "modified" and "wired"; the descriptor holds the rest. A
// writable page is mapped read-only until its first write; the access
// flag (AP[0], SCTLR.AFE=1) is the referenced bit. The state is per
// mapping (per virtual page of this Pmap), not per frame: pmap keeps no
// reverse map. vm, which knows every mapping of its pages, asks
// IsModified/IsReferenced (or Lookup) of each and keeps the per-page
// dirty/referenced summary in its own page metadata; Remove forgets a
// mapping's state, so vm reads it first when it matters.
//
// On a fault, vm's handler calls Upgrade first: an access-flag fault, or
// a write permission fault on a page whose protection allows write, is
// resolved there (one descriptor write and its upkeep) and Upgrade says
// which ("referenced", "modified"); anything else returns 0 and is vm's:
// a translation fault (not mapped) or a real protection violation. When
// vm enters a page in answer to a fault it passes Accessed (and Written
// for a write fault), so one fault is taken, not two or three.
//
// # The fast paths
//
// The fault path's operations each have a fast path for one small page
// in a table that exists: Enter (a page where nothing is mapped, not
// wired, pa in the first range of Config.Phys), EnterPage (the same with
// the protection, memory type and flags checked and encoded once, as a
// PageAttr from NewPageAttr: the handler's way to enter a page), Upgrade,
// Remove of one page from a table that keeps other mappings, and Reclaim
// (the page-replacement clock's IsModified, ClearReferenced and, for an
// idle clean page, Remove, in one walk) of such a page. Every
// other case, errors included, goes through the general code, so results
// and errors are the same either way (the host tests compare them). A
// fast path checks busy but does not set it: it makes no call before its
// state is consistent.
//
// The upkeep of one descriptor is one call (upkeep.go): on the target,
// when the MMU is Hardware, an assembly function per sequence below
// (upkeep_arm.s); otherwise the same operations through the MMU's
// methods, so that RecordingMMU and the coherence model see exactly what
// the target does (a host test reads upkeep_arm.s and compares).
//
// Costs are measured on the target under QEMU with -icount shift=0,
// where ns/op counts instructions (bench_target_test.go). The data abort
// path is the hook's own vector (dataabort_arm.s): the check of the
// mode the abort was taken in, TamaGo's frame push, the decoding of DFSR, DFAR, SP_usr and g
// into abortHook, the switch to g0 (runtime.CallOnG0's, inline) and
// Dispatcher's rules with the handler called through its interface, not
// through arm.SystemExceptionHandler (the rest of the rules, for what is
// not Retry, in dispatchAbort and dispatchResolution, abort_tamago.go);
// then the handler and the Pmap operation. A prefetch abort takes
// TamaGo's vector and is decoded in Go (handleException).
//
// # Faults and the abort hook
//
// DecodeData(DFSR, DFAR) and DecodePrefetch(IFSR, IFAR) give a Fault:
// address, access (read, write, execute), kind (translation, access flag,
// domain, permission, alignment, external, ...), level, raw status; they
// are plain Go and allocate nothing. The abort hook (tamago builds only)
// reads the fault registers (DataFault, PrefetchFault) and the faulting
// goroutine's g (Fault.G, which CurrentG matches from inside that
// goroutine), and applies Dispatcher.Dispatch's rules: the fault goes to
// the one registered FaultHandler (vm), whose Resolution it carries out
// (for a data abort the hook's vector calls the handler itself and counts
// Retry; the rest is dispatchAbort's and dispatchResolution's). Retry
// returns from the exception and the instruction runs again; Yield
// redirects the return through the fault-yield trampoline (YieldOnReturn:
// the goroutine yields through runtime.asyncPreempt and retries when
// rescheduled); Unhandled ends in the fault report (WriteReport). A fault
// taken on g0, or in a goroutine without stack room to yield, cannot
// yield: the handler is told so (onG0), and Yield becomes Unhandled
// there, so a handler serves such faults synchronously or lets them be
// reported.
//
// An abort taken inside the hook (abort mode: a handler touching window
// memory) is a nested abort. It cannot be resumed: the exception has
// overwritten LR_abt and SPSR_abt, the outer abort's way back, and
// TamaGo's vector would push its frame over the outer one and run the
// hook on the goroutine's stack with g0 ("morestack on g0"). While the
// hook is installed, a check in front of the data and prefetch abort
// vectors (dataabort_arm.s) sorts aborts by the mode they were taken in
// (SPSR_abt.M). From System mode (Go code) the abort goes on to the vector
// after five instructions, from User mode after two more. From abort
// mode it is a nested abort: the program stops with WriteNestedReport's
// report of both faults, the nested one's registers, and
// ExitUnhandledFault; the handler is not entered again.
//
// The hook serves aborts from System and User mode only. An abort taken
// in another exception mode (IRQ, FIQ, Supervisor, Undefined, Monitor:
// an interrupt handler or exception code touching window memory or a bad
// address) interrupted code that runs between an exception's entry and
// return, with IRQs masked and often on g0; a vector would push its frame
// on the stack of whatever goroutine that mode interrupted and serve the
// abort as that goroutine's. It is not handed to the handler: the
// program stops with WriteOtherModeReport's report (a line naming the
// mode, then the fault, the faulting instruction and the registers, with
// that mode's banked SP and LR) and ExitUnhandledFault. (An abort in Hyp
// mode is taken to Hyp mode, never to the hook.)
//
// # Locking and re-entry
//
// pmap holds no lock. Lock order, outermost first:
//
//	vm's map/pmap lock (serialises every call on a Pmap, and the
//	  TableAllocator it uses)
//	  -> Pmap (no lock; methods must not overlap)
//
// The fault handler runs on g0 with IRQs masked and may call Upgrade,
// Enter, EnterPage, Lookup and Extract only if it can take vm's lock without
// blocking (a try-lock, or, in abort mode where nothing else runs, seeing
// it free: InAbortMode); when it cannot, the faulting goroutine yields
// and retries. pmap's own code never touches memory inside a window
// (tables live in identity-mapped memory outside every window), so an
// abort never interrupts a Pmap method; as a guard, a method entered
// while another is in progress on the same Pmap returns ErrBusy (or does
// nothing). pmap methods must not be called from other interrupt
// handlers. Enter, EnterPage, NewPageAttr, Remove, Protect, Upgrade,
// Reclaim, Lookup, Extract, the Is/Clear methods, SetWired and the fault decoders
// allocate nothing (tests check it); TableAllocator and MMU implementations must not
// allocate either. New, Destroy and CheckInvariants may.
//
// # Invariants (CheckInvariants)
//
//   - Each L1 entry of the window is a fault or a page-table descriptor
//     (configured domain, PXN=0, NS=0) pointing at this Pmap's table for
//     that MiB; a table has at least one valid entry.
//   - A large page is 16 identical entries starting at a multiple of 16;
//     its software state is in the first entry, the others hold zero.
//   - An entry is read-write (AP[2]=0) only if its protection allows
//     write and it is modified; a wired entry is accessed, and read-write
//     if writable, so it never faults.
//   - Software state is zero for fault entries; each table's count and
//     the wired count equal the entries (in 4 KiB units) in the tables
//     (Resident is the sum of the tables' counts).
//   - Every descriptor uses AP[1]=0 (PL1 only), S=0 (one core), nG as
//     configured, and a memory type from MemType.
//
// # Upkeep sequences (ARM ARM B3.10.1, B2.2.6, B3.10.4)
//
// Table walks do not look in the data cache (TamaGo's TTBR0 has no walk
// cacheability bits), so every descriptor written is cleaned (DCCMVAC)
// to the point of coherency before it can matter:
//
//   - new mapping in an existing table: write, DCCMVAC, DSB, ISB (an
//     entry that faulted is never held in a TLB: no invalidation);
//   - new table: zero it and write the entries, DCCMVAC each line of it,
//     DSB, then the L1 entry, DCCMVAC, DSB, ISB (the table is visible
//     before anything points at it);
//   - replacing a mapping: write, DCCMVAC, DSB, TLBIMVA, BPIALL, DSB, ISB;
//   - permission or access-flag change (ClearModified, ClearReferenced,
//     Upgrade, Protect, SetWired): write, DCCMVAC, DSB, TLBIMVA, DSB, ISB;
//   - range removal: writes, DCCMVAC per line, DSB, TLBIMVA per page (or
//     one TLBIALL beyond 32 pages in a MiB), BPIALL, DSB, ISB;
//   - freeing a table: L1 entry fault, DCCMVAC, DSB, TLBIMVA (the MiB;
//     this also drops a cached walk of the L1 entry), DSB, then the table
//     goes back to the allocator.
//
// D-cache lines are cleaned at the configured stride (CTR.DminLine;
// 32 bytes if unknown, the smallest ARMv7 line, always safe).
package pmap
