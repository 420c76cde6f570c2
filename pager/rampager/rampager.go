// Package rampager is the reference pager for an object held in RAM: its
// contents are an arena of the object's size, given at creation, and pages
// that kernels return are written back into it. It can supply its pages as
// precious, so that kernels return them even clean, and it can answer data
// requests either inside the call or later from its own goroutine, so that
// both ways of the protocol are exercised by the same pager.
//
// The data path allocates nothing: DataRequest answers with DataSupply
// straight from the arena (synchronous mode), or queues a fixed-size job on
// a buffered channel (asynchronous mode); DataReturn copies into the arena.
//
// The package also has Default, a default pager whose objects live in RAM
// backing stores, as a reference for the backing-store management calls.
//
// # Invariants
//
//   - The kernels that initialised the object, and those terminated or
//     dropped, are in kernels (mo.Kernels), which answers for the
//     lifecycle rules: unknown control, second init, call after
//     terminate; Destroy closes it, so later Inits get KernTerminated.
//   - Calls of one control are handled in seqno order (its turn, taken by
//     kernels.Enter).
//   - No Control method is called with mu held or a seqno turn taken: a
//     kernel may call the object back from inside one.
//   - When Terminate returns, no answer for that control is being sent or
//     will be sent: Terminate sets the dead bit of the kernel's state
//     under mu and waits until the count of answers under way in it is
//     zero. An answer raises that count and learns the dead bit in one
//     atomic add, so either it sees the bit and sends nothing, or
//     Terminate sees it counted and waits.
//
// The synchronous data path takes no lock: kernels.Enter finds the
// control seen last without a scan (a kernel's fault path makes one data
// request per fault, so this is the pager's share of every pager fault).
//
// # Lock order
//
// A seqno turn before Object.mu; kernels takes no lock on the data path.
package rampager

import (
	"sync"
	"sync/atomic"

	"github.com/tamach/tamach/mo"
)

// Precious pages: the pager keeps its own copy of every page even when it
// supplies it precious, so a precious page coming back clean carries nothing
// new and is only counted; what precious buys here is that kernels report
// every page they let go, which the counters show.

// Config describes an Object.
type Config struct {
	// Size is the object's size, a non-zero multiple of mo.MinPageSize.
	Size mo.Size
	// Initial is copied to the start of the object; the rest reads as zeros.
	Initial []byte
	// Precious makes the pager supply every page as precious.
	Precious bool
	// Async makes the pager answer data requests from its own goroutine
	// instead of inside DataRequest.
	Async bool
}

// Object is a RAM-backed memory object. It implements mo.Object.
type Object struct {
	mo.NoReplies

	cfg Config

	// kernels' state is requests answered <<32 | dead (bit 31) |
	// answers under way (bits 0-30); dead is set under mu by Terminate.
	kernels mo.Kernels[atomic.Uint64]

	mu        sync.Mutex
	cond      sync.Cond // L is &mu; broadcast when a dead kernel's answers under way drop to zero
	arena     []byte    // protected by mu for writes; see package doc
	destroyed bool      // protected by mu

	jobs    chan job       // async mode: requests to answer
	pending sync.WaitGroup // async mode: jobs queued and not finished
	stopped sync.Once

	// Stats, protected by mu. Requests is current after Quiesce or
	// Stats; Returns and PreciousReturns always are.
	Requests, Returns, PreciousReturns uint64
}

type kernel = mo.Kernel[atomic.Uint64]

const (
	stateDead     = 1 << 31
	stateInflight = 1<<31 - 1
	stateRequest  = 1 << 32
)

type job struct {
	ctl    mo.Control
	k      *kernel
	offset mo.Offset
	length mo.Size
}

var _ mo.Object = (*Object)(nil)

// New returns an object, or KernInvalidArgument for a malformed Config. An
// asynchronous object runs a goroutine until Close.
func New(cfg Config) (*Object, error) {
	if cfg.Size == 0 || cfg.Size%mo.MinPageSize != 0 || cfg.Size > 1<<40 || mo.Size(len(cfg.Initial)) > cfg.Size {
		return nil, mo.KernInvalidArgument
	}
	o := &Object{
		cfg:   cfg,
		arena: make([]byte, cfg.Size),
	}
	o.cond.L = &o.mu
	o.Acknowledge = o.kernels.Acknowledge
	copy(o.arena, cfg.Initial)
	if cfg.Async {
		o.jobs = make(chan job, 1024)
		go o.worker()
	}
	return o, nil
}

// Close stops the goroutine of an asynchronous object.
func (o *Object) Close() {
	if o.jobs != nil {
		o.stopped.Do(func() {
			o.jobs <- job{} // the worker's stop, after the jobs queued
		})
	}
}

// Quiesce waits until every queued request has been answered or dropped
// (motest.Quiescer).
func (o *Object) Quiesce() {
	o.pending.Wait()
	o.Stats()
}

// Stats returns the counters: data requests answered, pages returned, and
// of those the clean precious ones. It also brings the Requests field up
// to date.
func (o *Object) Stats() (requests, returns, preciousReturns uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Requests = 0
	for _, k := range o.kernels.All() { // terminated ones included
		o.Requests += k.State.Load() / stateRequest
	}
	return o.Requests, o.Returns, o.PreciousReturns
}

// ReadAt copies the pager's current contents at off into p, for tests.
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if off < 0 || off >= int64(len(o.arena)) {
		return 0, mo.KernInvalidArgument
	}
	return copy(p, o.arena[off:]), nil
}

func (o *Object) worker() {
	// A plain receive, not a select on stop as well: a select costs
	// several times a receive, on the path of every asynchronous answer.
	// Close queues a job with no control to stop the worker.
	for {
		j := <-o.jobs
		if j.ctl == nil {
			return
		}
		o.answer(j.ctl, j.k, j.offset, j.length)
		o.pending.Done()
	}
}

// answer supplies the pages of a request unless the control was terminated.
func (o *Object) answer(ctl mo.Control, k *kernel, offset mo.Offset, length mo.Size) {
	done := uint64(1) // what to take off state at the end
	if k.State.Add(stateRequest+1)&stateDead == 0 {
		// A kernel cannot return a page it is asking for, so the arena
		// under the range does not change while it is supplied.
		ctl.DataSupply(offset, o.arena[offset:offset+mo.Offset(length)], mo.ProtNone, o.cfg.Precious, false)
	} else {
		done = stateRequest + 1 // not answered: not counted
	}
	if k.State.Add(-done)&(stateDead|stateInflight) == stateDead {
		// Terminate may be waiting (see Invariants).
		o.mu.Lock()
		o.cond.Broadcast()
		o.mu.Unlock()
	}
}

// Init implements mo.Object: the page size must divide the object's size.
func (o *Object) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	_, err := o.kernels.Init(seqno, ctl, pageSize, func(ps mo.Size) (atomic.Uint64, error) {
		if o.cfg.Size%ps != 0 {
			return atomic.Uint64{}, mo.KernInvalidArgument
		}
		return atomic.Uint64{}, nil
	})
	if err != nil {
		return err
	}
	return ctl.Ready(mo.Attributes{CopyStrategy: mo.CopyDelay})
}

// FaultSafe implements mo.FaultSafe: synchronously, DataRequest and
// DataUnlock answer inside the call without blocking, deferring or
// allocating. An asynchronous object hands requests to its goroutine
// through a channel that may be full, so a kernel must not call it from
// its fault handler.
func (o *Object) FaultSafe() bool { return !o.cfg.Async }

// DataRequest implements mo.Object. It allocates nothing.
func (o *Object) DataRequest(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	k, err := o.kernels.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	// One page, the request of a fault, is checked without CheckRange's
	// 64-bit arithmetic.
	onePage := length == k.PageSize() && offset < mo.Offset(o.cfg.Size) && uint64(offset)&uint64(length-1) == 0
	if !onePage && mo.CheckRange(offset, length, k.PageSize(), o.cfg.Size) != nil || !desired.Valid() {
		k.Leave(seqno)
		return mo.KernInvalidArgument
	}
	if o.cfg.Async {
		o.pending.Add(1)
		o.jobs <- job{ctl, k, offset, length}
		k.Leave(seqno)
		return mo.MigNoReply
	}
	k.Leave(seqno)
	o.answer(ctl, k, offset, length)
	return nil
}

// DataUnlock implements mo.Object. This pager never locks pages, so it
// unlocks at once.
func (o *Object) DataUnlock(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, length, o.cfg.Size)
	if err != nil {
		return err
	}
	k.Leave(seqno)
	if !desired.Valid() {
		return mo.KernInvalidArgument
	}
	return ctl.LockRequest(offset, length, mo.ReturnNone, false, mo.ProtNone, false)
}

// DataReturn implements mo.Object: dirty data is copied into the arena
// before the call returns; clean (precious) pages are only counted, since
// the pager kept its copy.
func (o *Object) DataReturn(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, mo.Size(len(data)), o.cfg.Size)
	if err != nil {
		return err
	}
	defer k.Leave(seqno)
	o.mu.Lock()
	o.Returns++
	if dirty {
		copy(o.arena[offset:], data)
	} else {
		// A clean precious page: the arena holds the same data, or newer
		// data returned dirty by another kernel, which must not be undone.
		o.PreciousReturns++
	}
	o.mu.Unlock()
	return nil
}

// Synchronize implements mo.Object: returned data is in the arena already.
func (o *Object) Synchronize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, flags mo.SyncFlags) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, length, o.cfg.Size)
	if err != nil {
		return err
	}
	k.Leave(seqno)
	if !flags.Valid() {
		return mo.KernInvalidArgument
	}
	return ctl.SynchronizeCompleted(offset, length)
}

// Terminate implements mo.Object. Requests of ctl still queued are dropped,
// and an answer under way is waited for, so nothing reaches ctl afterwards.
func (o *Object) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	k, err := o.kernels.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	o.mu.Lock()
	for v := k.State.Load(); !k.State.CompareAndSwap(v, v|stateDead); v = k.State.Load() {
	}
	o.kernels.Terminate(k)
	for k.State.Load()&stateInflight != 0 {
		o.cond.Wait()
	}
	o.mu.Unlock()
	k.Leave(seqno)
	return nil
}

// Destroy shuts the object down in every kernel as memory_object_destroy
// advises: a lock_request with should_flush and a write lock first, which
// returns the dirty (and, for a precious object, precious) pages, then
// Destroy; each kernel answers with Terminate. Later Inits are refused with
// KernTerminated.
func (o *Object) Destroy(reason error) error {
	o.mu.Lock()
	if o.destroyed {
		o.mu.Unlock()
		return mo.KernTerminated
	}
	o.destroyed = true
	o.mu.Unlock()
	o.kernels.Close(mo.KernTerminated)
	var ctls []mo.Control
	for _, k := range o.kernels.All() {
		if !k.Dead() {
			ctls = append(ctls, k.Control())
		}
	}
	policy := mo.ReturnDirty
	if o.cfg.Precious {
		policy = mo.ReturnAll
	}
	var first error
	for _, c := range ctls {
		if err := c.LockRequest(0, o.cfg.Size, policy, true, mo.ProtWrite, false); err != nil && first == nil {
			first = err
		}
		if err := c.Destroy(reason); err != nil && first == nil {
			first = err
		}
	}
	return first
}
