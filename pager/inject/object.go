package inject

import (
	"runtime"
	"sync"

	"github.com/tamach/tamach/mo"
)

// Object wraps a pager's object. Every kernel-to-pager call draws a kind
// from the schedule (Error or Panic, else passed on) and every answer the
// wrapped pager makes on its Control draws one too (Delay, Drop,
// Duplicate, Reorder, else made at once). The wrapped pager sees one
// Control per kernel, the wrapper's, stable across calls.
type Object struct {
	inner mo.Object
	def   mo.DefaultObject // inner, if it is a default pager's object
	s     *Schedule

	mu   sync.Mutex
	ctls map[mo.Control]*Control // protected by mu: by the kernel's control
	bg   sync.WaitGroup          // delayed and released answers under way
}

var (
	_ mo.Object        = (*Object)(nil)
	_ mo.DefaultObject = (*DefaultObject)(nil)
	_ mo.DefaultPager  = (*DefaultPager)(nil)
	_ mo.Control       = (*Control)(nil)
)

// Wrap wraps inner with schedule s.
func Wrap(inner mo.Object, s *Schedule) *Object {
	return &Object{inner: inner, s: s, ctls: make(map[mo.Control]*Control)}
}

// Inner returns the wrapped object.
func (w *Object) Inner() mo.Object { return w.inner }

// Quiesce waits until every delayed or held answer has been made.
func (w *Object) Quiesce() {
	w.mu.Lock()
	cs := make([]*Control, 0, len(w.ctls))
	for _, c := range w.ctls {
		cs = append(cs, c)
	}
	w.mu.Unlock()
	for _, c := range cs {
		c.release()
	}
	w.bg.Wait()
}

// Destroy calls Destroy on every kernel's control with reason, as the
// pager would: the way to end an object whose answers were dropped.
func (w *Object) Destroy(reason error) {
	w.mu.Lock()
	cs := make([]*Control, 0, len(w.ctls))
	for _, c := range w.ctls {
		cs = append(cs, c)
	}
	w.mu.Unlock()
	for _, c := range cs {
		c.k.Destroy(reason)
	}
}

// control returns the wrapper's control for the kernel's.
func (w *Object) control(k mo.Control) *Control {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.ctls[k]
	if c == nil {
		c = &Control{k: k, w: w}
		w.ctls[k] = c
	}
	return c
}

// call draws the kind of one kernel-to-pager call with seqno on the
// kernel's control ctl: an error to refuse it with, or a panic. A call
// passed on gets the inner pager's next seqno: the inner pager numbers
// only the calls it sees, so a refused call leaves no gap in its order.
func (w *Object) call(op mo.Op, ctl mo.Control, seqno mo.Seqno) (*Control, mo.Seqno, error) {
	c := w.control(ctl)
	c.seq.Enter(seqno)
	switch w.s.next(op, callKinds) {
	case Error:
		c.seq.Leave(seqno)
		return c, 0, w.s.err()
	case Panic:
		c.seq.Leave(seqno)
		panic(&Injected{Op: op, Seed: w.s.seed})
	}
	s := c.next
	c.next++
	c.seq.Leave(seqno)
	return c, s, nil
}

// Init implements mo.Object.
func (w *Object) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	c, seqno, err := w.call(mo.OpInit, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.Init(seqno, c, pageSize)
}

// DataRequest implements mo.Object.
func (w *Object) DataRequest(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	c, seqno, err := w.call(mo.OpDataRequest, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.DataRequest(seqno, c, off, n, desired)
}

// DataUnlock implements mo.Object.
func (w *Object) DataUnlock(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	c, seqno, err := w.call(mo.OpDataUnlock, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.DataUnlock(seqno, c, off, n, desired)
}

// DataReturn implements mo.Object.
func (w *Object) DataReturn(seqno mo.Seqno, ctl mo.Control, off mo.Offset, data []byte, dirty, kernelCopy bool) error {
	c, seqno, err := w.call(mo.OpDataReturn, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.DataReturn(seqno, c, off, data, dirty, kernelCopy)
}

// Synchronize implements mo.Object.
func (w *Object) Synchronize(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, flags mo.SyncFlags) error {
	c, seqno, err := w.call(mo.OpSynchronize, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.Synchronize(seqno, c, off, n, flags)
}

// Terminate implements mo.Object. Answers held for the control are made
// first, and the control is forgotten.
func (w *Object) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	c, seqno, err := w.call(mo.OpTerminate, ctl, seqno)
	if err != nil {
		return err
	}
	c.release()
	err = w.inner.Terminate(seqno, c)
	w.mu.Lock()
	delete(w.ctls, ctl)
	w.mu.Unlock()
	return err
}

// LockCompleted implements mo.Object.
func (w *Object) LockCompleted(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size) error {
	c, seqno, err := w.call(mo.OpLockCompleted, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.LockCompleted(seqno, c, off, n)
}

// SupplyCompleted implements mo.Object.
func (w *Object) SupplyCompleted(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, result error, eoff mo.Offset) error {
	c, seqno, err := w.call(mo.OpSupplyCompleted, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.SupplyCompleted(seqno, c, off, n, result, eoff)
}

// ChangeCompleted implements mo.Object.
func (w *Object) ChangeCompleted(seqno mo.Seqno, ctl mo.Control, attr mo.Attributes) error {
	c, seqno, err := w.call(mo.OpChangeCompleted, ctl, seqno)
	if err != nil {
		return err
	}
	return w.inner.ChangeCompleted(seqno, c, attr)
}

// Control is the control a wrapped pager sees for one kernel: its answers
// go to the kernel's control as the schedule says.
type Control struct {
	k mo.Control
	w *Object

	seq  mo.Sequencer // orders the kernel's calls to renumber them
	next mo.Seqno     // the inner pager's next seqno (taken in seq's turn)

	mu   sync.Mutex
	held []func() error // protected by mu: answers held by Reorder, oldest first
}

// answer makes one answer as the schedule says. do makes it on the
// kernel's control; copyArgs, if not nil, copies what do refers to that
// the pager may reuse when the call returns (DataSupply's data) and
// returns the do to call later.
func (c *Control) answer(op mo.Op, do func() error, later func() func() error) error {
	kind := c.w.s.next(op, answerKinds)
	switch kind {
	case Drop:
		return nil
	case Delay:
		f := later()
		c.w.bg.Add(1)
		go func() {
			defer c.w.bg.Done()
			for range 3 {
				runtime.Gosched()
			}
			f()
		}()
		return nil
	case Reorder:
		f := later()
		c.mu.Lock()
		c.held = append(c.held, f)
		c.mu.Unlock()
		// If no other answer comes to go first, make it anyway, later.
		c.w.bg.Add(1)
		go func() {
			defer c.w.bg.Done()
			for range 8 {
				runtime.Gosched()
			}
			c.release()
		}()
		return nil
	}
	err := do()
	if kind == Duplicate {
		do()
	}
	c.release()
	return err
}

// release makes the held answers.
func (c *Control) release() {
	c.mu.Lock()
	h := c.held
	c.held = nil
	c.mu.Unlock()
	for _, f := range h {
		f()
	}
}

// DataSupply implements mo.Control.
func (c *Control) DataSupply(off mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	return c.answer(mo.OpDataSupply,
		func() error { return c.k.DataSupply(off, data, lock, precious, reply) },
		func() func() error {
			d := append([]byte(nil), data...)
			return func() error { return c.k.DataSupply(off, d, lock, precious, reply) }
		})
}

// DataUnavailable implements mo.Control.
func (c *Control) DataUnavailable(off mo.Offset, n mo.Size) error {
	f := func() error { return c.k.DataUnavailable(off, n) }
	return c.answer(mo.OpDataUnavailable, f, func() func() error { return f })
}

// DataError implements mo.Control.
func (c *Control) DataError(off mo.Offset, n mo.Size, reason error) error {
	f := func() error { return c.k.DataError(off, n, reason) }
	return c.answer(mo.OpDataError, f, func() func() error { return f })
}

// LockRequest implements mo.Control.
func (c *Control) LockRequest(off mo.Offset, n mo.Size, ret mo.ReturnPolicy, flush bool, lock mo.Prot, reply bool) error {
	f := func() error { return c.k.LockRequest(off, n, ret, flush, lock, reply) }
	return c.answer(mo.OpLockRequest, f, func() func() error { return f })
}

// ChangeAttributes implements mo.Control.
func (c *Control) ChangeAttributes(attr mo.Attributes, reply bool) error {
	f := func() error { return c.k.ChangeAttributes(attr, reply) }
	return c.answer(mo.OpChangeAttributes, f, func() func() error { return f })
}

// GetAttributes implements mo.Control; it is a query, not an answer, and
// always goes through.
func (c *Control) GetAttributes() (mo.Attributes, error) { return c.k.GetAttributes() }

// Destroy implements mo.Control.
func (c *Control) Destroy(reason error) error {
	f := func() error { return c.k.Destroy(reason) }
	return c.answer(mo.OpDestroy, f, func() func() error { return f })
}

// Ready implements mo.Control.
func (c *Control) Ready(attr mo.Attributes) error {
	f := func() error { return c.k.Ready(attr) }
	return c.answer(mo.OpReady, f, func() func() error { return f })
}

// SynchronizeCompleted implements mo.Control.
func (c *Control) SynchronizeCompleted(off mo.Offset, n mo.Size) error {
	f := func() error { return c.k.SynchronizeCompleted(off, n) }
	return c.answer(mo.OpSynchronizeCompleted, f, func() func() error { return f })
}

// DefaultPager wraps a default pager: Create draws Error or Panic, and the
// objects it creates are wrapped with the same schedule.
type DefaultPager struct {
	inner mo.DefaultPager
	s     *Schedule

	mu      sync.Mutex
	objects []*DefaultObject // protected by mu
}

// WrapDefault wraps inner with schedule s.
func WrapDefault(inner mo.DefaultPager, s *Schedule) *DefaultPager {
	return &DefaultPager{inner: inner, s: s}
}

// Create implements mo.DefaultPager.
func (p *DefaultPager) Create(ctl mo.Control, size, pageSize mo.Size) (mo.DefaultObject, error) {
	o := &DefaultObject{Object: Object{s: p.s, ctls: make(map[mo.Control]*Control)}}
	c, _, err := o.call(mo.OpCreate, ctl, 0)
	if err != nil {
		return nil, err
	}
	inner, err := p.inner.Create(c, size, pageSize)
	if err != nil {
		return nil, err
	}
	o.inner, o.def = inner, inner
	p.mu.Lock()
	p.objects = append(p.objects, o)
	p.mu.Unlock()
	return o, nil
}

// Quiesce waits for the delayed and held answers of every object created.
func (p *DefaultPager) Quiesce() {
	p.mu.Lock()
	objs := append([]*DefaultObject(nil), p.objects...)
	p.mu.Unlock()
	for _, o := range objs {
		o.Quiesce()
	}
}

// DefaultObject is a wrapped default pager's object.
type DefaultObject struct{ Object }

// DataInitialize implements mo.DefaultObject.
func (o *DefaultObject) DataInitialize(seqno mo.Seqno, ctl mo.Control, off mo.Offset, data []byte) error {
	c, seqno, err := o.call(mo.OpDataInitialize, ctl, seqno)
	if err != nil {
		return err
	}
	return o.def.DataInitialize(seqno, c, off, data)
}

// Controls returns the kernels' controls of the object (for tests that
// answer as the pager would).
func (w *Object) Controls() []mo.Control {
	w.mu.Lock()
	defer w.mu.Unlock()
	cs := make([]mo.Control, 0, len(w.ctls))
	for k := range w.ctls {
		cs = append(cs, k)
	}
	return cs
}
