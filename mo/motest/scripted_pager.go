package motest

import (
	"fmt"
	"sync"
	"time"

	"github.com/tamach/tamach/mo"
)

// Call is one kernel-to-pager call as the scripted Pager saw it.
type Call struct {
	Op         mo.Op
	Seqno      mo.Seqno
	Ctl        mo.Control
	Offset     mo.Offset
	Size       mo.Size // length, or the page size for Init
	Prot       mo.Prot
	Data       []byte // DataReturn's data, copied
	Dirty      bool
	KernelCopy bool
}

// Pager is a scripted pager: an mo.Object that checks every call a kernel
// makes against the rules, records it, and answers as the scenario says:
// inside the call (Respond), later from the scenario's goroutine, out of
// order, twice, with errors, or never.
type Pager struct {
	r    *run
	size mo.Size

	changed chan struct{}

	mu      sync.Mutex
	store   []byte                           // protected by mu: the contents the pager holds
	ctls    map[mo.Control]*scriptedCtl      // protected by mu
	calls   []Call                           // protected by mu
	respond func(c Call) error               // protected by mu
	initRes error                            // protected by mu: what Init returns
	ready   bool                             // protected by mu: Init calls Ready inside
	attr    mo.Attributes                    // protected by mu
	onInit  func(ctl mo.Control, ps mo.Size) // protected by mu
}

type scriptedCtl struct {
	pageSize   mo.Size
	dropped    bool
	ready      bool
	terminated bool
	seen       map[mo.Seqno]bool
	precious   map[mo.Offset]bool // supplied precious and not returned since
}

func newPager(r *run, size mo.Size) *Pager {
	p := &Pager{r: r, size: size, changed: make(chan struct{}, 1), store: make([]byte, size),
		ctls: make(map[mo.Control]*scriptedCtl), ready: true}
	for i := range p.store {
		p.store[i] = byte(i/512) ^ 0x5a
	}
	return p
}

func (p *Pager) signal() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// setRespond makes fn run inside every later call, after the checks; its
// result is the call's result.
func (p *Pager) setRespond(fn func(c Call) error) {
	p.mu.Lock()
	p.respond = fn
	p.mu.Unlock()
}

// check records a call and applies the kernel rules to it.
func (p *Pager) check(c Call) error {
	p.mu.Lock()
	defer p.signal()
	defer p.mu.Unlock()
	p.r.trace.Record(mo.Event{Op: c.Op, Seqno: c.Seqno, Offset: c.Offset, Size: c.Size, Prot: c.Prot})
	p.calls = append(p.calls, c)
	s := p.ctls[c.Ctl]
	if c.Op == mo.OpInit {
		if s != nil {
			p.r.violate(RuleInitOncePerKernel, "init sent twice on one control (seqnos %d)", c.Seqno)
			return mo.KernInvalidArgument
		}
		if c.Seqno != 0 {
			p.r.violate(RuleSeqnoOrder, "init with seqno %d, want 0", c.Seqno)
		}
		p.ctls[c.Ctl] = &scriptedCtl{pageSize: c.Size, seen: map[mo.Seqno]bool{0: true}, precious: map[mo.Offset]bool{}}
		return nil
	}
	if s == nil {
		p.r.violate(RuleInitOncePerKernel, "%v before init on its control", c.Op)
		return mo.KernInvalidArgument
	}
	switch {
	case s.dropped:
		p.r.violate(RuleInitErrorDropsControl, "%v (seqno %d) on a control whose init was refused", c.Op, c.Seqno)
		return mo.KernTerminated
	case s.terminated:
		p.r.violate(RuleNoCallAfterTerminate, "%v (seqno %d) after terminate", c.Op, c.Seqno)
		return mo.KernTerminated
	}
	if s.seen[c.Seqno] {
		p.r.violate(RuleSeqnoOrder, "seqno %d used twice (%v)", c.Seqno, c.Op)
	}
	s.seen[c.Seqno] = true
	ps := mo.Offset(s.pageSize)
	switch c.Op {
	case mo.OpDataRequest, mo.OpDataUnlock, mo.OpSynchronize, mo.OpLockCompleted:
		if mo.CheckRange(c.Offset, c.Size, s.pageSize, p.size) != nil {
			p.r.violate(RulePageMultiple, "%v offset %#x size %#x: not whole pages of %#x within the object", c.Op, c.Offset, c.Size, s.pageSize)
			return mo.KernInvalidArgument
		}
		if c.Op == mo.OpDataRequest && !s.ready {
			p.r.violate(RuleReadyBeforeRequests, "data_request offset %#x before ready", c.Offset)
		}
	case mo.OpDataReturn:
		if mo.CheckRange(c.Offset, c.Size, s.pageSize, p.size) != nil {
			p.r.violate(RulePageMultiple, "data_return offset %#x size %#x: not whole pages of %#x within the object", c.Offset, c.Size, s.pageSize)
			return mo.KernInvalidArgument
		}
		for off := c.Offset; off < c.Offset+mo.Offset(c.Size); off += ps {
			if !c.Dirty && !s.precious[off] {
				p.r.violate(RuleDataReturnOnlyDirtyOrPrec, "data_return of page %#x, clean and not precious", off)
			}
			delete(s.precious, off)
		}
	case mo.OpTerminate:
		for i := mo.Seqno(0); i < c.Seqno; i++ {
			if !s.seen[i] {
				p.r.violate(RuleSeqnoOrder, "terminate has seqno %d but seqno %d never came", c.Seqno, i)
				break
			}
		}
		if len(s.seen) != int(c.Seqno)+1 {
			p.r.violate(RuleNoCallAfterTerminate, "terminate (seqno %d) is not the last call: %d calls seen", c.Seqno, len(s.seen))
		}
		s.terminated = true
	}
	return nil
}

func (p *Pager) respondTo(c Call) error {
	p.mu.Lock()
	fn := p.respond
	p.mu.Unlock()
	if fn == nil {
		return nil
	}
	return fn(c)
}

// Init implements mo.Object.
func (p *Pager) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	c := Call{Op: mo.OpInit, Seqno: seqno, Ctl: ctl, Size: pageSize}
	if err := p.check(c); err != nil {
		return err
	}
	p.mu.Lock()
	res, ready, attr, hook := p.initRes, p.ready, p.attr, p.onInit
	s := p.ctls[ctl]
	if !mo.Accepted(res) {
		s.dropped = true
	}
	p.mu.Unlock()
	if hook != nil {
		hook(ctl, pageSize)
	}
	if mo.Accepted(res) && ready {
		p.markReady(ctl)
		if err := ctl.Ready(attr); err != nil {
			p.r.violate(RuleInitOncePerKernel, "ready refused: %v", err)
		}
	}
	return res
}

// markReady notes that ready is about to be sent on ctl.
func (p *Pager) markReady(ctl mo.Control) {
	p.mu.Lock()
	if s := p.ctls[ctl]; s != nil {
		s.ready = true
	}
	p.mu.Unlock()
}

// DataRequest implements mo.Object.
func (p *Pager) DataRequest(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	c := Call{Op: mo.OpDataRequest, Seqno: seqno, Ctl: ctl, Offset: offset, Size: length, Prot: desired}
	if err := p.check(c); err != nil {
		return err
	}
	return p.respondTo(c)
}

// DataUnlock implements mo.Object.
func (p *Pager) DataUnlock(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	c := Call{Op: mo.OpDataUnlock, Seqno: seqno, Ctl: ctl, Offset: offset, Size: length, Prot: desired}
	if err := p.check(c); err != nil {
		return err
	}
	if err := p.respondTo(c); err != nil {
		return err
	}
	return ctl.LockRequest(offset, length, mo.ReturnNone, false, mo.ProtNone, false)
}

// DataReturn implements mo.Object: the data is copied into the store.
func (p *Pager) DataReturn(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	c := Call{Op: mo.OpDataReturn, Seqno: seqno, Ctl: ctl, Offset: offset, Size: mo.Size(len(data)), Data: append([]byte(nil), data...), Dirty: dirty, KernelCopy: kernelCopy}
	if err := p.check(c); err != nil {
		return err
	}
	p.mu.Lock()
	copy(p.store[offset:], data)
	p.mu.Unlock()
	return p.respondTo(c)
}

// Synchronize implements mo.Object.
func (p *Pager) Synchronize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, flags mo.SyncFlags) error {
	c := Call{Op: mo.OpSynchronize, Seqno: seqno, Ctl: ctl, Offset: offset, Size: length}
	if err := p.check(c); err != nil {
		return err
	}
	if err := p.respondTo(c); err != nil {
		return err
	}
	return ctl.SynchronizeCompleted(offset, length)
}

// Terminate implements mo.Object.
func (p *Pager) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	c := Call{Op: mo.OpTerminate, Seqno: seqno, Ctl: ctl}
	if err := p.check(c); err != nil {
		return err
	}
	return p.respondTo(c)
}

// LockCompleted implements mo.Object.
func (p *Pager) LockCompleted(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size) error {
	c := Call{Op: mo.OpLockCompleted, Seqno: seqno, Ctl: ctl, Offset: offset, Size: length}
	if err := p.check(c); err != nil {
		return err
	}
	return p.respondTo(c)
}

// SupplyCompleted implements mo.Object.
func (p *Pager) SupplyCompleted(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, result error, errorOffset mo.Offset) error {
	c := Call{Op: mo.OpSupplyCompleted, Seqno: seqno, Ctl: ctl, Offset: offset, Size: length}
	if err := p.check(c); err != nil {
		return err
	}
	return p.respondTo(c)
}

// ChangeCompleted implements mo.Object.
func (p *Pager) ChangeCompleted(seqno mo.Seqno, ctl mo.Control, attr mo.Attributes) error {
	c := Call{Op: mo.OpChangeCompleted, Seqno: seqno, Ctl: ctl}
	if err := p.check(c); err != nil {
		return err
	}
	return p.respondTo(c)
}

// page returns a copy of the store's data for a range.
func (p *Pager) data(offset mo.Offset, length mo.Size) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.store[offset:offset+mo.Offset(length)]...)
}

// supply answers a range from the store.
func (p *Pager) supply(ctl mo.Control, offset mo.Offset, length mo.Size, precious bool) error {
	if precious {
		p.mu.Lock()
		if s := p.ctls[ctl]; s != nil {
			for off := offset; off < offset+mo.Offset(length); off += mo.Offset(s.pageSize) {
				s.precious[off] = true
			}
		}
		p.mu.Unlock()
	}
	return ctl.DataSupply(offset, p.data(offset, length), mo.ProtNone, precious, false)
}

// waitCall waits for the first call from index *from on that matches, and
// moves *from past it.
func (p *Pager) waitCall(from *int, what string, match func(Call) bool) Call {
	deadline := time.NewTimer(p.r.timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i := *from; i < len(p.calls); i++ {
			if match(p.calls[i]) {
				c := p.calls[i]
				*from = i + 1
				p.mu.Unlock()
				return c
			}
		}
		p.mu.Unlock()
		p.r.check()
		select {
		case <-p.changed:
		case <-deadline.C:
			p.r.fail(RuleAnswerEachRequest, "no %s from the kernel within %v", what, p.r.timeout)
		}
	}
}

// count returns how many calls of op were made, from index from on.
func (p *Pager) count(from int, op mo.Op) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls[from:] {
		if c.Op == op {
			n++
		}
	}
	return n
}

func (p *Pager) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func (c Call) String() string {
	return fmt.Sprintf("%v seqno %d offset %#x size %#x", c.Op, c.Seqno, c.Offset, c.Size)
}
