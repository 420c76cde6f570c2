package motest

import (
	"fmt"
	"sync"
	"time"

	"github.com/tamach/tamach/mo"
)

// Poison is written over a buffer lent to DataReturn or DataInitialize once
// the call returns, so a pager that keeps the slice instead of copying it
// serves poison, and the scenarios notice.
const Poison = 0xdb

// Answer is one pager-to-kernel call as a scripted kernel saw it.
type Answer struct {
	Op       mo.Op
	Offset   mo.Offset
	Size     mo.Size
	Data     []byte // DataSupply's data, copied
	Lock     mo.Prot
	Precious bool
	Reply    bool
	Flush    bool
	Policy   mo.ReturnPolicy
	Reason   error
	Attr     mo.Attributes
}

type ctlState uint8

const (
	ctlNew ctlState = iota
	ctlLive
	ctlDropped     // init refused
	ctlTerminating // Terminate in progress
	ctlTerminated  // Terminate returned
)

type kpage struct {
	data     []byte
	dirty    bool
	precious bool
	err      error
}

// run is the state of one scenario: its violations and its deadline.
type run struct {
	scenario string
	timeout  time.Duration
	trace    *mo.Trace

	mu         sync.Mutex
	violations []*Violation // protected by mu
}

type abort struct{}

// violate records a broken rule; it may be called from any goroutine.
func (r *run) violate(rule, format string, args ...any) {
	r.mu.Lock()
	r.violations = append(r.violations, &Violation{Scenario: r.scenario, Rule: rule, Detail: fmt.Sprintf(format, args...)})
	r.mu.Unlock()
}

// fail records a broken rule and ends the scenario. Only the scenario's
// goroutine calls it.
func (r *run) fail(rule, format string, args ...any) {
	r.violate(rule, format, args...)
	panic(abort{})
}

// check ends the scenario if a violation was recorded.
func (r *run) check() {
	r.mu.Lock()
	n := len(r.violations)
	r.mu.Unlock()
	if n > 0 {
		panic(abort{})
	}
}

func (r *run) first() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.violations) == 0 {
		return nil
	}
	return r.violations[0]
}

// scenario runs fn and returns its first violation.
func (r *run) do(fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(abort); !ok {
				panic(p)
			}
		}
		err = r.first()
	}()
	fn()
	return nil
}

// KernelControl is a scripted kernel's control for one object: it implements
// mo.Control, checks every call the pager makes on it, keeps a small page
// cache, and makes kernel-to-pager calls with consecutive seqnos.
type KernelControl struct {
	id       uint16
	objID    uint32
	pageSize mo.Size
	size     mo.Size
	obj      mo.Object
	r        *run

	changed chan struct{} // signalled after every pager call

	mu        sync.Mutex
	next      mo.Seqno              // protected by mu
	state     ctlState              // protected by mu
	ready     bool                  // protected by mu
	pending   map[mo.Offset]bool    // protected by mu: pages requested and not answered
	pages     map[mo.Offset]*kpage  // protected by mu: resident pages
	answers   []Answer              // protected by mu
	locks     []Answer              // protected by mu: lock requests seen
	returned  map[mo.Offset][]byte  // protected by mu: data returned by lock requests
	destroyed bool                  // protected by mu
	syncs     map[mo.Offset]mo.Size // protected by mu: outstanding synchronize
	termDone  chan struct{}         // closed when Terminate returned
}

func newKernelControl(r *run, id uint16, obj mo.Object, pageSize, size mo.Size) *KernelControl {
	return &KernelControl{
		id: id, objID: 1, pageSize: pageSize, size: size, obj: obj, r: r,
		changed:  make(chan struct{}, 1),
		pending:  make(map[mo.Offset]bool),
		pages:    make(map[mo.Offset]*kpage),
		returned: make(map[mo.Offset][]byte),
		syncs:    make(map[mo.Offset]mo.Size),
		termDone: make(chan struct{}),
	}
}

func (k *KernelControl) String() string {
	return fmt.Sprintf("kernel %d (page size %#x)", k.id, k.pageSize)
}

func (k *KernelControl) signal() {
	select {
	case k.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until cond (called with k.mu held) holds, or the deadline
// passes; then it fails with rule.
func (k *KernelControl) waitFor(rule, what string, cond func() bool) {
	deadline := time.NewTimer(k.r.timeout)
	defer deadline.Stop()
	for {
		k.mu.Lock()
		ok := cond()
		k.mu.Unlock()
		if ok {
			return
		}
		k.r.check()
		select {
		case <-k.changed:
		case <-deadline.C:
			k.r.fail(rule, "%v: no %s within %v", k, what, k.r.timeout)
		}
	}
}

// entry checks the state at the start of a pager call and returns the error
// to give; it records a violation for a call on a dead control.
// Preconditions: k.mu is held.
func (k *KernelControl) entryLocked(op mo.Op) error {
	switch k.state {
	case ctlDropped:
		k.r.violate(RuleInitErrorDropsControl, "%v: pager called %v on a control whose init it refused", k, op)
		return mo.KernTerminated
	case ctlTerminating:
		return mo.KernTerminated
	case ctlTerminated:
		k.r.violate(RuleNoCallAfterTerminate, "%v: pager called %v after terminate returned", k, op)
		return mo.KernTerminated
	case ctlNew:
		k.r.violate(RuleInitErrorDropsControl, "%v: pager called %v on a control before init", k, op)
		return mo.KernInvalidArgument
	}
	return nil
}

func (k *KernelControl) record(e mo.Event) {
	e.Kernel, e.Object = k.id, k.objID
	k.r.trace.Record(e)
}

// checkRangeLocked validates an answer's range.
// Preconditions: k.mu is held.
func (k *KernelControl) checkRangeLocked(op mo.Op, offset mo.Offset, length mo.Size) error {
	if mo.CheckRange(offset, length, k.pageSize, k.size) != nil {
		if length%k.pageSize != 0 || length == 0 || offset%mo.Offset(k.pageSize) != 0 {
			k.r.violate(RulePageMultiple, "%v: %v offset %#x size %#x is not in whole pages of %#x", k, op, offset, length, k.pageSize)
		} else {
			k.r.violate(RuleAnswerEachRequest, "%v: %v offset %#x size %#x lies outside the object of size %#x", k, op, offset, length, k.size)
		}
		return mo.KernInvalidArgument
	}
	return nil
}

// answerLocked takes an answer for the pages of a range.
// Preconditions: k.mu is held.
func (k *KernelControl) answerLocked(a Answer) error {
	if err := k.checkRangeLocked(a.Op, a.Offset, a.Size); err != nil {
		return err
	}
	ps := mo.Offset(k.pageSize)
	for off := a.Offset; off < a.Offset+mo.Offset(a.Size); off += ps {
		if !k.pending[off] {
			k.r.violate(RuleAnswerEachRequest, "%v: %v for page %#x, which was not requested or was already answered", k, a.Op, off)
			return mo.KernInvalidArgument
		}
	}
	for off := a.Offset; off < a.Offset+mo.Offset(a.Size); off += ps {
		delete(k.pending, off)
		p := &kpage{data: make([]byte, k.pageSize), precious: a.Precious}
		switch a.Op {
		case mo.OpDataSupply:
			copy(p.data, a.Data[off-a.Offset:])
		case mo.OpDataError:
			p.err = a.Reason
			if p.err == nil {
				p.err = mo.KernMemoryError
			}
		}
		k.pages[off] = p
	}
	k.answers = append(k.answers, a)
	return nil
}

// DataSupply implements mo.Control.
func (k *KernelControl) DataSupply(offset mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpDataSupply)
	if err == nil {
		if !lock.Valid() {
			k.r.violate(RuleBadInputRefused, "%v: data_supply with invalid lock %#x", k, uint8(lock))
			err = mo.KernInvalidArgument
		} else {
			err = k.answerLocked(Answer{Op: mo.OpDataSupply, Offset: offset, Size: mo.Size(len(data)), Data: append([]byte(nil), data...), Lock: lock, Precious: precious, Reply: reply})
		}
	}
	k.mu.Unlock()
	var fl mo.EventFlags
	if precious {
		fl |= mo.FlagPrecious
	}
	k.record(mo.Event{Op: mo.OpDataSupply, Offset: offset, Size: mo.Size(len(data)), Prot: lock, Flags: fl, Result: mo.ReturnOf(err)})
	k.signal()
	if err == nil && reply {
		k.call(mo.OpSupplyCompleted, offset, mo.Size(len(data)), func(s mo.Seqno) error {
			return k.obj.SupplyCompleted(s, k, offset, mo.Size(len(data)), nil, 0)
		})
	}
	return err
}

// DataUnavailable implements mo.Control.
func (k *KernelControl) DataUnavailable(offset mo.Offset, length mo.Size) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpDataUnavailable)
	if err == nil {
		err = k.answerLocked(Answer{Op: mo.OpDataUnavailable, Offset: offset, Size: length})
	}
	k.mu.Unlock()
	k.record(mo.Event{Op: mo.OpDataUnavailable, Offset: offset, Size: length, Result: mo.ReturnOf(err)})
	k.signal()
	return err
}

// DataError implements mo.Control.
func (k *KernelControl) DataError(offset mo.Offset, length mo.Size, reason error) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpDataError)
	if err == nil {
		err = k.answerLocked(Answer{Op: mo.OpDataError, Offset: offset, Size: length, Reason: reason})
	}
	k.mu.Unlock()
	k.record(mo.Event{Op: mo.OpDataError, Offset: offset, Size: length, Result: mo.ReturnOf(err)})
	k.signal()
	return err
}

// LockRequest implements mo.Control. The scripted kernel does the work inside
// the call: it returns pages with DataReturn as shouldReturn says, flushes
// them if asked, and calls LockCompleted if reply is set.
func (k *KernelControl) LockRequest(offset mo.Offset, length mo.Size, shouldReturn mo.ReturnPolicy, shouldFlush bool, lock mo.Prot, reply bool) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpLockRequest)
	if err == nil {
		err = k.checkRangeLocked(mo.OpLockRequest, offset, length)
	}
	if err == nil && (!shouldReturn.Valid() || !lock.Valid()) {
		k.r.violate(RuleBadInputRefused, "%v: lock_request with invalid policy %d or lock %#x", k, shouldReturn, uint8(lock))
		err = mo.KernInvalidArgument
	}
	type ret struct {
		off          mo.Offset
		data         []byte
		dirty, flush bool
	}
	var rets []ret
	if err == nil {
		k.locks = append(k.locks, Answer{Op: mo.OpLockRequest, Offset: offset, Size: length, Policy: shouldReturn, Flush: shouldFlush, Lock: lock, Reply: reply})
		ps := mo.Offset(k.pageSize)
		for off := offset; off < offset+mo.Offset(length); off += ps {
			p := k.pages[off]
			if p == nil || p.err != nil {
				continue
			}
			send := (shouldReturn == mo.ReturnDirty && (p.dirty || (p.precious && shouldFlush))) ||
				(shouldReturn == mo.ReturnAll && (p.dirty || p.precious))
			if send {
				rets = append(rets, ret{off, append([]byte(nil), p.data...), p.dirty, shouldFlush})
				k.returned[off] = append([]byte(nil), p.data...)
				p.dirty = false
			}
			if shouldFlush {
				delete(k.pages, off)
			}
		}
	}
	k.mu.Unlock()
	var fl mo.EventFlags
	if shouldFlush {
		fl |= mo.FlagFlush
	}
	if reply {
		fl |= mo.FlagReply
	}
	k.record(mo.Event{Op: mo.OpLockRequest, Offset: offset, Size: length, Prot: lock, Policy: uint8(shouldReturn), Flags: fl, Result: mo.ReturnOf(err)})
	k.signal()
	for _, rt := range rets {
		k.dataReturn(rt.off, rt.data, rt.dirty, !rt.flush)
	}
	if err == nil && reply {
		k.call(mo.OpLockCompleted, offset, length, func(s mo.Seqno) error { return k.obj.LockCompleted(s, k, offset, length) })
	}
	return err
}

// ChangeAttributes implements mo.Control.
func (k *KernelControl) ChangeAttributes(attr mo.Attributes, reply bool) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpChangeAttributes)
	if err == nil {
		err = attr.Check(k.pageSize)
	}
	k.mu.Unlock()
	k.record(mo.Event{Op: mo.OpChangeAttributes, Size: attr.ClusterSize, Policy: uint8(attr.CopyStrategy), Result: mo.ReturnOf(err)})
	k.signal()
	if err == nil && reply {
		k.call(mo.OpChangeCompleted, 0, 0, func(s mo.Seqno) error { return k.obj.ChangeCompleted(s, k, attr) })
	}
	return err
}

// GetAttributes implements mo.Control.
func (k *KernelControl) GetAttributes() (mo.Attributes, error) {
	k.mu.Lock()
	err := k.entryLocked(mo.OpGetAttributes)
	k.mu.Unlock()
	return mo.Attributes{CopyStrategy: mo.CopyDelay}, err
}

// Destroy implements mo.Control: the scripted kernel answers with Terminate
// from its own goroutine, as a kernel would after the message.
func (k *KernelControl) Destroy(reason error) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpDestroy)
	first := err == nil && !k.destroyed
	if err == nil {
		for off, pg := range k.pages {
			if pg.dirty {
				k.r.violate(RuleFlushBeforeDestroy, "%v: destroy while page %#x is still dirty in the kernel (no lock_request with should_flush and a write lock first)", k, off)
				break
			}
		}
		k.destroyed = true
		k.answers = append(k.answers, Answer{Op: mo.OpDestroy, Reason: reason})
	}
	k.mu.Unlock()
	k.record(mo.Event{Op: mo.OpDestroy, Result: mo.ReturnOf(err)})
	k.signal()
	if first {
		go k.Terminate()
	}
	return err
}

// Ready implements mo.Control.
func (k *KernelControl) Ready(attr mo.Attributes) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpReady)
	if err == nil {
		if err = attr.Check(k.pageSize); err != nil {
			k.r.violate(RuleBadInputRefused, "%v: ready with malformed attributes %+v", k, attr)
		} else {
			k.ready = true
		}
	}
	k.mu.Unlock()
	k.record(mo.Event{Op: mo.OpReady, Size: attr.ClusterSize, Policy: uint8(attr.CopyStrategy), Result: mo.ReturnOf(err)})
	k.signal()
	return err
}

// SynchronizeCompleted implements mo.Control.
func (k *KernelControl) SynchronizeCompleted(offset mo.Offset, length mo.Size) error {
	k.mu.Lock()
	err := k.entryLocked(mo.OpSynchronizeCompleted)
	if err == nil {
		if l, ok := k.syncs[offset]; !ok || l != length {
			k.r.violate(RuleSynchronize, "%v: synchronize_completed for offset %#x size %#x, which no synchronize asked for", k, offset, length)
			err = mo.KernInvalidArgument
		} else {
			delete(k.syncs, offset)
		}
	}
	k.mu.Unlock()
	k.record(mo.Event{Op: mo.OpSynchronizeCompleted, Offset: offset, Size: length, Result: mo.ReturnOf(err)})
	k.signal()
	return err
}

// call makes one kernel-to-pager call with the next seqno.
func (k *KernelControl) call(op mo.Op, offset mo.Offset, length mo.Size, fn func(mo.Seqno) error) error {
	k.mu.Lock()
	s := k.next
	k.next++
	k.mu.Unlock()
	// A pager that never returns (a turn it took and never left, a lock it
	// never released) holds up every later call of the kernel: the call
	// runs on its own goroutine, so that the scenario ends with the rule
	// broken instead of hanging. The goroutine is left behind.
	done := make(chan error, 1)
	go func() { done <- fn(s) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(k.r.timeout):
		k.r.fail(RuleSeqnoOrder, "%v: the pager's %v call with seqno %d has not returned after %v", k, op, s, k.r.timeout)
	}
	k.record(mo.Event{Op: op, Seqno: s, Offset: offset, Size: length, Result: mo.ReturnOf(err)})
	return err
}

// init sends Init and returns the pager's result; a refusal drops the
// control.
func (k *KernelControl) init(pageSize mo.Size) error {
	k.mu.Lock()
	k.state = ctlLive
	k.mu.Unlock()
	err := k.call(mo.OpInit, 0, pageSize, func(s mo.Seqno) error { return k.obj.Init(s, k, pageSize) })
	if !mo.Accepted(err) {
		k.mu.Lock()
		k.state = ctlDropped
		k.mu.Unlock()
	}
	return err
}

// request sends DataRequest for the range and marks its pages pending.
func (k *KernelControl) request(offset mo.Offset, length mo.Size, access mo.Prot) error {
	valid := mo.CheckRange(offset, length, k.pageSize, k.size) == nil
	k.mu.Lock()
	if valid {
		for off := offset; off < offset+mo.Offset(length); off += mo.Offset(k.pageSize) {
			k.pending[off] = true
		}
	}
	k.mu.Unlock()
	err := k.call(mo.OpDataRequest, offset, length, func(s mo.Seqno) error { return k.obj.DataRequest(s, k, offset, length, access) })
	if valid && !mo.Accepted(err) {
		k.mu.Lock()
		for off := offset; off < offset+mo.Offset(length); off += mo.Offset(k.pageSize) {
			delete(k.pending, off)
		}
		k.mu.Unlock()
	}
	return err
}

// dataReturn sends DataReturn with a buffer that is poisoned afterwards.
func (k *KernelControl) dataReturn(offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	buf := append([]byte(nil), data...)
	err := k.call(mo.OpDataReturn, offset, mo.Size(len(data)), func(s mo.Seqno) error {
		return k.obj.DataReturn(s, k, offset, buf, dirty, kernelCopy)
	})
	for i := range buf {
		buf[i] = Poison
	}
	return err
}

// Terminate sends Terminate; afterwards any pager call on k is a violation.
func (k *KernelControl) Terminate() error {
	k.mu.Lock()
	if k.state == ctlTerminating || k.state == ctlTerminated {
		k.mu.Unlock()
		return mo.KernTerminated
	}
	k.state = ctlTerminating
	k.mu.Unlock()
	err := k.call(mo.OpTerminate, 0, 0, func(s mo.Seqno) error { return k.obj.Terminate(s, k) })
	k.mu.Lock()
	k.state = ctlTerminated
	k.mu.Unlock()
	close(k.termDone)
	k.signal()
	return err
}
