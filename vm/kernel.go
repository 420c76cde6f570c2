package vm

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// Errors returned by the API. Mach codes from package mo are returned as
// they are (errors.Is works through wrapping).
var (
	ErrConfig     = errors.New("vm: bad configuration")
	ErrAlign      = errors.New("vm: address or size not aligned to the page size")
	ErrRange      = errors.New("vm: range outside the window, the mapping or the object")
	ErrOverlap    = errors.New("vm: range overlaps an existing mapping")
	ErrNoSpace    = errors.New("vm: no room left in the window or the map")
	ErrProtection = errors.New("vm: access not allowed by the mapping's protection")
	ErrNoMemory   = errors.New("vm: out of page frames: every frame is wired or in transit")
	ErrTerminated = errors.New("vm: the memory object was destroyed or terminated")
	ErrUnmapped   = errors.New("vm: region already unmapped")
	// ErrPageOutRefused: no frame is free, and the only pages that could
	// be freed are kept because their pagers refused their page-out
	// MaxPageOutRefusals times in a row (errors.Is ErrNoMemory too).
	ErrPageOutRefused error = pageOutRefused{}
)

type pageOutRefused struct{}

func (pageOutRefused) Error() string {
	return "vm: out of page frames: the pages left are wired, or kept because their pagers refuse to take them back"
}

func (pageOutRefused) Is(target error) bool { return target == ErrNoMemory }

// UnlockError is the error of a copying call (WriteAt, Wire, ReadAt)
// whose access the page's lock prohibits when the pager refused the
// data_unlock asking it to lift the lock (GNU Mach fails such a fault
// with a memory error). The next access asks again. It wraps
// mo.KernMemoryError and the pager's refusal.
type UnlockError struct {
	Offset mo.Offset // of the page in the object
	Access mo.Prot   // the access the lock prohibits
	Reason error     // the pager's refusal
}

func (e *UnlockError) Error() string {
	return fmt.Sprintf("vm: the pager refused data_unlock (%v) for object offset %#x: %v", e.Access, uint64(e.Offset), e.Reason)
}

// Unwrap gives KernMemoryError and the reason.
func (e *UnlockError) Unwrap() []error { return []error{mo.KernMemoryError, e.Reason} }

// PageOutError is Sync's error when the pager refused the data_return (or
// data_initialize) of a dirty or precious page: the page is kept, dirty,
// and the pager was not asked to synchronize. It wraps the pager's error.
type PageOutError struct {
	Offset mo.Offset // of the page in the object
	Err    error     // as the pager returned it
}

func (e *PageOutError) Error() string {
	return fmt.Sprintf("vm: the pager refused the page-out of object offset %#x (kept, dirty): %v", uint64(e.Offset), e.Err)
}

func (e *PageOutError) Unwrap() error { return e.Err }

// ErrSelfDeadlock: a pager, inside one of the kernel's calls on its
// object, asked the kernel for something of that object that needs
// another call on it or a wait for one (a page not resident, in transit
// or locked, Sync). Made from the goroutine the pager's call holds, that
// call or wait could only end after the pager's own call returns (its
// mo.Sequencer turn, or the page it was asked for): the kernel returns a
// *SelfDeadlockError, which wraps this, rather than wait forever.
var ErrSelfDeadlock = errors.New("vm: a pager inside a call on its object waits for that object")

// SelfDeadlockError is the error of a kernel call (ReadAt, WriteAt, Wire,
// Sync) that a pager made, inside one of the kernel's calls on its object
// (data_request, data_unlock, data_return, data_initialize, synchronize),
// on that same object, and that would have waited for that call to end
// (ErrSelfDeadlock). Nothing was changed for it.
type SelfDeadlockError struct {
	Call   string    // the kernel call the pager made: "ReadAt", "WriteAt", "Wire", "Sync"
	Object mo.Object // the object, as mapped
	Offset mo.Offset // of the page in the object (for Sync, of the range)
}

func (e *SelfDeadlockError) Error() string {
	return fmt.Sprintf("vm: %s of object offset %#x by its own pager inside a call on that object would wait for that call: refused (self-deadlock)", e.Call, uint64(e.Offset))
}

func (e *SelfDeadlockError) Unwrap() error { return ErrSelfDeadlock }

// DataError is the error of a copying call (ReadAt, WriteAt, Wire) that
// touched a page its pager answered with data_error. It wraps
// mo.KernMemoryError and the pager's reason.
type DataError struct {
	Offset mo.Offset // of the page in the object
	Reason error     // as the pager gave it (may be nil)
}

func (e *DataError) Error() string {
	return fmt.Sprintf("vm: data_error for object offset %#x: %v", uint64(e.Offset), e.Reason)
}

// Unwrap gives KernMemoryError and the reason.
func (e *DataError) Unwrap() []error { return []error{mo.KernMemoryError, e.Reason} }

// Config describes a Kernel.
type Config struct {
	// PageSize is the kernel's page size: 4 KiB or 64 KiB (the two page
	// sizes of the short-descriptor format).
	PageSize uint32
	// Pmap owns the window the kernel maps objects into. The kernel makes
	// every call on it, under its lock.
	Pmap *pmap.Pmap
	// FrameBase and FrameSize give the physical region of the frame pool,
	// page aligned; Pmap must allow mapping it. Mem reaches its memory.
	FrameBase, FrameSize uint32
	Mem                  PhysMem
	// DefaultPager backs anonymous memory (Allocate); nil means Allocate
	// fails with ErrConfig.
	DefaultPager mo.DefaultPager
	// LowFrames: below this many free frames the pageout goroutine is
	// woken; it frees frames until HighFrames are free. ReserveFrames are
	// kept for allocations made while a page-out is in progress, so a
	// pager that needs memory to page out cannot deadlock. Zero picks
	// defaults (1/16, 1/8 and 1/32 of the pool, at least 1, 2 and 1).
	LowFrames, HighFrames, ReserveFrames int
	// MaxMappings bounds the address map (0: 64). The map is allocated
	// at New, so the fault path never grows it.
	MaxMappings int
	// Trace records every protocol call in both directions (nil: none).
	Trace *mo.Trace
	// ID numbers the kernel in the trace.
	ID uint16
	// Wake, if set, is called (on the fault path, with no lock held) when
	// the pageout goroutine should run; it must not block or allocate.
	// Nil means a non-blocking send on an internal channel.
	Wake func()
}

// Stats are the kernel's counters.
type Stats struct {
	Faults         uint64 // faults handled, every resolution: an access answered Yield n times counts n+1
	FaultsResident uint64 // resolved by mapping a resident page
	FaultsUpgrade  uint64 // resolved by pmap.Upgrade (referenced or modified)
	FaultsPager    uint64 // that sent data_request
	Yields         uint64 // answered Yield
	LockBusy       uint64 // kernel lock held: answered Yield (or Unhandled on g0)
	Unhandled      uint64 // answered Unhandled
	DataRequests   uint64 // data_request calls
	DataUnlocks    uint64 // data_unlock calls
	PageIns        uint64 // pages filled by data_supply or data_unavailable, or zero-filled
	ZeroFills      uint64 // of PageIns, anonymous pages never paged out, zero-filled without a call
	PageOuts       uint64 // pages sent with data_return or data_initialize
	Evictions      uint64 // frames reclaimed from the page cache by the clock
	CleanDrops     uint64 // of Evictions, clean pages dropped without a call
	Flushed        uint64 // pages freed by lock_request, destroy or terminate
	Refused        uint64 // pager answers refused (unrequested, twice, late, malformed)
	PagerPanics    uint64 // pager calls that panicked (recover.go)
	// PageOutsRefused counts page-outs of dirty or precious pages the
	// pager refused (the page kept); KeptPages is how many pages are now
	// kept after MaxPageOutRefusals refusals in a row and no longer
	// offered for page-out.
	PageOutsRefused uint64
	KeptPages       int
	FreeFrames      int
	Frames          int
}

// Reason says why the fault handler answered Unhandled.
type Reason uint8

const (
	ReasonNone       Reason = iota
	ReasonNoMapping         // the address is in no mapping
	ReasonProtection        // the mapping's protection forbids the access
	ReasonDataError         // the page's pager answered data_error
	ReasonTerminated        // the object was destroyed or terminated
	ReasonCannotWait        // the fault was taken on g0 and needs a wait
	ReasonNoMemory          // no frame can be freed without a wait
	ReasonKernel            // a pmap call failed: a vm bug
	// ReasonNoCallWorker: the page's pager is not fault-safe and every
	// call worker stayed busy, none finishing a call, while accesses
	// waited for one a long while (defaultCallWaitLimit tries): nested faults
	// deeper than the pool of workers.
	ReasonNoCallWorker
	// ReasonPageOutRefused: no frame is free and the pages that could be
	// freed are kept, their pagers having refused their page-out
	// MaxPageOutRefusals times in a row.
	ReasonPageOutRefused
	// ReasonSelfDeadlock: the access was made by a pager that is not
	// fault-safe, inside a call on the object it touched, and waited a
	// long while (defaultCallWaitLimit tries) with no call on the object
	// returning: the pager waits for itself (it touched the page it was
	// asked for, or another page of its object whose call waits behind
	// its own).
	ReasonSelfDeadlock
	// ReasonUnlockRefused: the page's lock prohibits the access and the
	// pager refused the data_unlock asking it to lift it.
	ReasonUnlockRefused
	numReasons
)

func (r Reason) String() string {
	return [...]string{"none", "no mapping", "protection", "data_error", "object terminated",
		"fault on g0 cannot wait", "out of frames", "pmap failure", "no call worker free",
		"out of frames: the pager refuses page-out of the pages left",
		"the pager waits for itself: its own access inside a call on the object (self-deadlock)",
		"the pager refused data_unlock"}[min(int(r), int(numReasons-1))]
}

// FaultReport is the last fault the handler could not resolve.
type FaultReport struct {
	Addr   uint32
	Access pmap.Access
	Reason Reason
}

// Kernel is one virtual-memory kernel: a frame pool and page cache, the
// objects it maps, its address map over one pmap window, and the fault
// handler for that window. It implements pmap.FaultHandler. See the
// package documentation for its invariants and lock order.
type Kernel struct {
	ps                 uint32 // page size
	shift              uint
	psize              pmap.PageSize
	id                 uint16
	trace              *mo.Trace
	mem                PhysMem
	dp                 mo.DefaultPager
	wakeFn             func()
	wake               chan struct{}
	calls              chan deferredCall // fault handler -> call workers
	callsPending       atomic.Int32      // deferred calls queued or under way (at most callWorkers)
	callsDone          atomic.Uint64     // deferred calls finished by the call workers
	callWaitDone       uint64            // protected by mu: callsDone when callWaitTries restarted
	callWaitTries      int               // protected by mu: accesses that found every worker busy since
	callWaitLimit      int               // immutable but for tests: defaultCallWaitLimit
	workers            [callWorkers]callWorker
	callers            [callerSlots]callWorker // other goroutines inside a call they make (enterCall)
	pageoutStarted     sync.Once
	pageoutRunning     chan struct{} // closed once Pageout has started the call workers
	low, high, reserve int
	// attrs are the pmap.PageAttr of a 4 KiB kernel's pages by protection
	// and written (pmap.EnterPage); immutable. A zero attr (no read, or a
	// 64 KiB kernel) makes enterPageLocked use pmap.Enter.
	attrs [8][2]pmap.PageAttr

	mu   kernelMutex
	cond sync.Cond // L is &mu; broadcast when page or object state changes and waiters > 0
	// elided: the fault handler runs in the abort hook without having
	// taken mu (HandleFault). Written only by that handler.
	elided bool

	pm         *pmap.Pmap            // protected by mu
	pool       *pool                 // protected by mu
	entries    []mapEntry            // protected by mu: sorted by start, capacity fixed at New
	hint       int                   // protected by mu: index of the entry entryAtLocked found last (may be stale)
	objects    []*object             // protected by mu: by id-1; nil for a free id
	byPager    map[mo.Object]*object // protected by mu
	waiters    int                   // protected by mu: goroutines in cond.Wait
	laundering int                   // protected by mu: page-outs in progress (the reserve is open)
	stats      Stats                 // protected by mu
	// quickResident counts the faults quickFaultLocked resolved by
	// entering a resident page, not yet in stats.Faults and
	// stats.FaultsResident (Stats adds them): a 32-bit add where a
	// 64-bit one costs seven instructions, twice. Protected by mu; moved
	// into stats before it reaches 1<<31.
	quickResident uint32
	// quickZeroFill counts the faults quickFaultLocked resolved with a
	// zero-filled frame, not yet in stats.Faults, stats.PageIns and
	// stats.ZeroFills (Stats adds them), for the same reason. Protected
	// by mu; moved into stats before it reaches 1<<31.
	quickZeroFill uint32

	bg sync.WaitGroup // goroutines the kernel started (terminate after destroy)

	lockBusy      atomic.Uint64
	lastUnhandled atomic.Uint64 // FaultReport packed: addr<<32 | access<<8 | reason
}

var _ pmap.FaultHandler = (*Kernel)(nil)

// kernelMutex is Kernel.mu: a sync.Mutex that also says whether it is
// held. held is set by the holder once it has the lock and cleared before
// it lets it go, so it is true exactly while a goroutine holds the lock,
// as seen from the one core; the fault handler in the abort hook reads it
// instead of taking the lock (HandleFault). Every locking goes through
// these methods (sync.Cond too: its L is the kernelMutex).
type kernelMutex struct {
	sync.Mutex
	held bool
}

func (l *kernelMutex) Lock() {
	l.Mutex.Lock()
	l.held = true
}

func (l *kernelMutex) Unlock() {
	l.held = false
	l.Mutex.Unlock()
}

func (l *kernelMutex) TryLock() bool {
	if !l.Mutex.TryLock() {
		return false
	}
	l.held = true
	return true
}

// New makes a kernel. The frame pool is FrameSize/PageSize frames at
// FrameBase; nothing on the fault path allocates after New.
func New(c Config) (*Kernel, error) {
	var shift uint
	var psize pmap.PageSize
	switch c.PageSize {
	case 4 << 10:
		shift, psize = 12, pmap.Page4K
	case 64 << 10:
		shift, psize = 16, pmap.Page64K
	default:
		return nil, fmt.Errorf("%w: page size %#x is neither 4 KiB nor 64 KiB", ErrConfig, c.PageSize)
	}
	if c.Pmap == nil || c.Mem == nil {
		return nil, fmt.Errorf("%w: no pmap or no frame memory", ErrConfig)
	}
	if c.FrameBase&(c.PageSize-1) != 0 || c.FrameSize&(c.PageSize-1) != 0 || c.FrameSize == 0 ||
		uint64(c.FrameBase)+uint64(c.FrameSize) > 1<<32 {
		return nil, fmt.Errorf("%w: frame region %#x+%#x not page aligned", ErrConfig, c.FrameBase, c.FrameSize)
	}
	if c.Pmap.Base()&(c.PageSize-1) != 0 {
		return nil, fmt.Errorf("%w: window not page aligned", ErrConfig)
	}
	n := int(c.FrameSize >> shift)
	if n > 1<<24 {
		return nil, fmt.Errorf("%w: too many frames", ErrConfig)
	}
	low, high, reserve := c.LowFrames, c.HighFrames, c.ReserveFrames
	if reserve == 0 {
		reserve = max(1, n/32)
	}
	if low == 0 {
		low = max(reserve+1, n/16)
	}
	if high == 0 {
		high = max(low+1, n/8)
	}
	if reserve < 0 || low <= reserve || high < low || high > n {
		return nil, fmt.Errorf("%w: marks reserve %d < low %d <= high %d <= frames %d do not hold", ErrConfig, reserve, low, high, n)
	}
	maxMaps := c.MaxMappings
	if maxMaps <= 0 {
		maxMaps = 64
	}
	k := &Kernel{
		ps: c.PageSize, shift: shift, psize: psize, id: c.ID, trace: c.Trace,
		mem: c.Mem, dp: c.DefaultPager, wakeFn: c.Wake, wake: make(chan struct{}, 1),
		callWaitLimit: defaultCallWaitLimit, calls: make(chan deferredCall, 2*callWorkers), pageoutRunning: make(chan struct{}),
		low: low, high: high, reserve: reserve,
		pm: c.Pmap, pool: newPool(c.FrameBase, n, shift),
		entries: make([]mapEntry, 0, maxMaps),
		byPager: make(map[mo.Object]*object),
	}
	k.cond.L = &k.mu
	if psize == pmap.Page4K {
		for prot := range k.attrs {
			for w := range k.attrs[prot] {
				flags := pmap.Accessed
				if w == 1 {
					flags |= pmap.Written
				}
				// An error leaves the zero attr: Enter then reports it.
				k.attrs[prot][w], _ = pmap.NewPageAttr(pmap.Prot(prot), pmap.MemNormal, flags)
			}
		}
	}
	return k, nil
}

// PageSize returns the kernel's page size.
func (k *Kernel) PageSize() uint32 { return k.ps }

// Stats returns a snapshot of the counters.
func (k *Kernel) Stats() Stats {
	k.mu.Lock()
	s := k.stats
	s.Faults += uint64(k.quickResident) + uint64(k.quickZeroFill)
	s.FaultsResident += uint64(k.quickResident)
	s.PageIns += uint64(k.quickZeroFill)
	s.ZeroFills += uint64(k.quickZeroFill)
	s.FreeFrames = k.pool.nfree
	s.Frames = len(k.pool.frames)
	for i := range k.pool.frames {
		if k.pool.frames[i].flags&pgKept != 0 {
			s.KeptPages++
		}
	}
	k.mu.Unlock()
	s.LockBusy = k.lockBusy.Load()
	return s
}

// Quiesce waits until the goroutines the kernel started have finished.
func (k *Kernel) Quiesce() { k.bg.Wait() }

// LastUnhandled returns the last fault the handler answered Unhandled.
func (k *Kernel) LastUnhandled() FaultReport {
	v := k.lastUnhandled.Load()
	return FaultReport{Addr: uint32(v >> 32), Access: pmap.Access(v >> 8), Reason: Reason(v)}
}

func (k *Kernel) report(f *pmap.Fault, r Reason) {
	k.lastUnhandled.Store(uint64(f.Addr)<<32 | uint64(f.Access)<<8 | uint64(r))
}

// CheckInvariants verifies the page cache, the free list, the objects and
// the map against each other and the pmap (see the package doc). Tests
// call it; it takes the kernel lock.
func (k *Kernel) CheckInvariants() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.checkInvariantsLocked()
}

func (k *Kernel) checkInvariantsLocked() error {
	p := k.pool
	free := 0
	for i := p.free; i != 0; i = p.frames[i-1].next {
		if p.frames[i-1].flags != pgFree {
			return fmt.Errorf("frame %d on the free list with flags %#x", i-1, p.frames[i-1].flags)
		}
		free++
		if free > len(p.frames) {
			return errors.New("free list loops")
		}
	}
	if free != p.nfree {
		return fmt.Errorf("free list holds %d frames, count says %d", free, p.nfree)
	}
	resident := make(map[uint16]int)
	for i := range p.frames {
		f := &p.frames[i]
		if f.flags == pgFree {
			continue
		}
		if f.flags&pgFree != 0 || f.flags&pgTabled == 0 {
			return fmt.Errorf("frame %d: flags %#x", i, f.flags)
		}
		if p.lookup(f.obj, f.index) != i {
			return fmt.Errorf("frame %d (object %d page %d) not found by the hash", i, f.obj, f.index)
		}
		if f.flags&pgAbsent != 0 && f.flags&pgBusy == 0 {
			return fmt.Errorf("frame %d absent but not busy", i)
		}
		if f.flags&pgLaundry != 0 && f.flags&pgBusy == 0 {
			return fmt.Errorf("frame %d in laundry but not busy", i)
		}
		if f.flags&pgKept != 0 && f.flags&(pgDirty|pgPrecious) == 0 && f.flags&pgBusy == 0 {
			return fmt.Errorf("frame %d kept (page-out refused) but neither dirty nor precious", i)
		}
		o := k.objectByID(f.obj)
		if o == nil {
			return fmt.Errorf("frame %d belongs to object %d, which does not exist", i, f.obj)
		}
		if uint64(f.index)<<k.shift >= uint64(o.size) {
			return fmt.Errorf("frame %d: page %d beyond object %d of size %#x", i, f.index, f.obj, o.size)
		}
		resident[f.obj]++
		// A page that is mapped is resident, filled and not busy, and its
		// mapping allows no access its lock prohibits.
		for ei := range k.entries {
			e := &k.entries[ei]
			va, ok := e.vaOf(o, mo.Offset(f.index)<<k.shift)
			if !ok {
				continue
			}
			m, mapped := k.pm.Lookup(va)
			if !mapped {
				continue
			}
			if f.flags&(pgAbsent|pgError) != 0 {
				return fmt.Errorf("frame %d mapped at %#x while absent or in error (flags %#x)", i, va, f.flags)
			}
			if m.PA != p.pa(i) {
				return fmt.Errorf("va %#x maps %#x, page is in frame at %#x", va, m.PA, p.pa(i))
			}
			if pmapToMo(m.Prot)&f.pageLock()&(mo.ProtWrite|mo.ProtExecute) != 0 {
				return fmt.Errorf("va %#x mapped %v despite lock %v", va, m.Prot, f.pageLock())
			}
		}
	}
	for id, o := range k.objects {
		if o == nil {
			continue
		}
		if o.id != uint16(id+1) {
			return fmt.Errorf("object slot %d holds id %d", id, o.id)
		}
		if resident[o.id] != o.resident {
			return fmt.Errorf("object %d: %d resident frames, count says %d", o.id, resident[o.id], o.resident)
		}
		refs := 0
		for ei := range k.entries {
			if k.entries[ei].obj == o {
				refs++
			}
		}
		if refs != o.mapRefs {
			return fmt.Errorf("object %d: %d map entries, count says %d", o.id, refs, o.mapRefs)
		}
	}
	for i := 1; i < len(k.entries); i++ {
		if k.entries[i-1].end() > k.entries[i].start {
			return fmt.Errorf("map entries %d and %d overlap", i-1, i)
		}
	}
	return k.pm.CheckInvariants()
}

func pmapToMo(p pmap.Prot) mo.Prot {
	return mo.Prot(p) // same bit positions: read 0, write 1, execute 2
}

func moToPmap(p mo.Prot) pmap.Prot {
	return pmap.Prot(p & mo.ProtAll)
}

// waitLocked waits for a state change. Preconditions: k.mu is held; not on
// the fault path.
func (k *Kernel) waitLocked() {
	k.waiters++
	k.cond.Wait()
	k.waiters--
}

// wakeLocked wakes the goroutines in waitLocked, if any. It allocates
// nothing and, with no waiter, does nothing but a compare.
// Preconditions: k.mu is held.
func (k *Kernel) wakeLocked() {
	if k.waiters > 0 {
		k.cond.Broadcast()
	}
}

// wakePageout asks the pageout goroutine to run. Called with no lock held.
func (k *Kernel) wakePageout() {
	if k.wakeFn != nil {
		k.wakeFn()
		return
	}
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

func (k *Kernel) record(o *object, op mo.Op, seq mo.Seqno, off mo.Offset, size mo.Size, prot mo.Prot, policy uint8, flags mo.EventFlags, err error) {
	if k.trace == nil {
		return
	}
	k.trace.Record(mo.Event{Op: op, Flags: flags, Prot: prot, Policy: policy, Kernel: k.id,
		Object: uint32(o.id), Seqno: seq, Offset: off, Size: size, Result: mo.ReturnOf(err)})
}
