package probe

import (
	"sync"
	"time"

	"github.com/tamach/tamach/mo"
)

// maxPending bounds the data requests timed at once; a request made while
// the table is full is not timed (Pager.Untimed counts it).
const maxPending = 64

// Pager wraps a default pager: each object it creates is wrapped in turn,
// and the kernel's control is wrapped for the pager, so that the wrapper
// sees every data_request go out and its answer (data_supply,
// data_unavailable, data_error) come back. The time between the two is a
// pager round trip, as the kernel sees it: recorded in PageIn. The time of
// each data_return and data_initialize call is recorded in PageOut.
// Nothing here allocates after Create.
//
// The wrapper does not say it is mo.FaultSafe: the kernel calls it (and
// the pager) from a goroutine, never from the fault handler.
type Pager struct {
	Inner   mo.DefaultPager
	PageIn  Histogram // ns from data_request to its answer
	PageOut Histogram // ns spent in data_return and data_initialize
	// Now returns a monotonic time in ns; nil means time since the
	// wrapper's first use.
	Now func() uint64

	mu      sync.Mutex
	pending [maxPending]pending // protected by mu
	npend   int                 // protected by mu
	untimed uint64              // protected by mu
	objects []*Object           // protected by mu
	epoch   time.Time
	once    sync.Once
}

type pending struct {
	o     *Object
	start mo.Offset
	end   mo.Offset
	t0    uint64
}

var _ mo.DefaultPager = (*Pager)(nil)

func (p *Pager) now() uint64 {
	if p.Now != nil {
		return p.Now()
	}
	p.once.Do(func() { p.epoch = time.Now() })
	return uint64(time.Since(p.epoch))
}

// Object is an object of the wrapped pager.
type Object struct {
	p     *Pager
	inner mo.DefaultObject
	ctl   *control // the control the inner object sees
	size  mo.Size
}

var _ mo.DefaultObject = (*Object)(nil)

// Inner returns the wrapped pager's object.
func (o *Object) Inner() mo.DefaultObject { return o.inner }

// Size returns the object's size in bytes.
func (o *Object) Size() mo.Size { return o.size }

// Create implements mo.DefaultPager.
func (p *Pager) Create(ctl mo.Control, size, pageSize mo.Size) (mo.DefaultObject, error) {
	o := &Object{p: p, size: size}
	o.ctl = &control{o: o, Control: ctl}
	in, err := p.Inner.Create(o.ctl, size, pageSize)
	if err != nil {
		return nil, err
	}
	o.inner = in
	p.mu.Lock()
	p.objects = append(p.objects, o)
	p.mu.Unlock()
	return o, nil
}

// Objects returns the objects created so far, oldest first.
func (p *Pager) Objects() []*Object {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Object(nil), p.objects...)
}

// Untimed returns how many data requests were not timed because too many
// were outstanding.
func (p *Pager) Untimed() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.untimed
}

func (p *Pager) begin(o *Object, off mo.Offset, n mo.Size) {
	t := p.now()
	p.mu.Lock()
	if p.npend == maxPending {
		p.untimed++
	} else {
		p.pending[p.npend] = pending{o: o, start: off, end: off + mo.Offset(n), t0: t}
		p.npend++
	}
	p.mu.Unlock()
}

// answered ends every pending request of o that starts inside
// [off, off+n), recording its round trip when record is set (not for a
// request the pager refused, or one its object's terminate ended).
func (p *Pager) answered(o *Object, off mo.Offset, n mo.Size, record bool) {
	t := p.now()
	end := off + mo.Offset(n)
	p.mu.Lock()
	for i := 0; i < p.npend; {
		q := &p.pending[i]
		if q.o == o && q.start >= off && q.start < end {
			if record {
				p.PageIn.Record(t - q.t0)
			}
			p.npend--
			p.pending[i] = p.pending[p.npend]
			p.pending[p.npend] = pending{}
			continue
		}
		i++
	}
	p.mu.Unlock()
}

// Init implements mo.Object.
func (o *Object) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	return o.inner.Init(seqno, o.ctl, pageSize)
}

// DataRequest implements mo.Object: timed until its answer.
func (o *Object) DataRequest(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	o.p.begin(o, offset, length)
	err := o.inner.DataRequest(seqno, o.ctl, offset, length, desired)
	if err != nil {
		o.p.answered(o, offset, length, false)
	}
	return err
}

// DataUnlock implements mo.Object.
func (o *Object) DataUnlock(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	return o.inner.DataUnlock(seqno, o.ctl, offset, length, desired)
}

// DataReturn implements mo.Object: timed.
func (o *Object) DataReturn(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	t0 := o.p.now()
	err := o.inner.DataReturn(seqno, o.ctl, offset, data, dirty, kernelCopy)
	o.p.PageOut.Record(o.p.now() - t0)
	return err
}

// DataInitialize implements mo.DefaultObject: timed.
func (o *Object) DataInitialize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte) error {
	t0 := o.p.now()
	err := o.inner.DataInitialize(seqno, o.ctl, offset, data)
	o.p.PageOut.Record(o.p.now() - t0)
	return err
}

// Synchronize implements mo.Object.
func (o *Object) Synchronize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, flags mo.SyncFlags) error {
	return o.inner.Synchronize(seqno, o.ctl, offset, length, flags)
}

// Terminate implements mo.Object.
func (o *Object) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	err := o.inner.Terminate(seqno, o.ctl)
	o.p.answered(o, 0, o.size, false)
	return err
}

// LockCompleted implements mo.Object.
func (o *Object) LockCompleted(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size) error {
	return o.inner.LockCompleted(seqno, o.ctl, offset, length)
}

// SupplyCompleted implements mo.Object.
func (o *Object) SupplyCompleted(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, result error, errorOffset mo.Offset) error {
	return o.inner.SupplyCompleted(seqno, o.ctl, offset, length, result, errorOffset)
}

// ChangeCompleted implements mo.Object.
func (o *Object) ChangeCompleted(seqno mo.Seqno, ctl mo.Control, attr mo.Attributes) error {
	return o.inner.ChangeCompleted(seqno, o.ctl, attr)
}

// control is the kernel's control as the wrapped pager sees it: answers
// to data requests end their round trip once the kernel has taken them.
type control struct {
	mo.Control
	o *Object
}

func (c *control) DataSupply(offset mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	err := c.Control.DataSupply(offset, data, lock, precious, reply)
	c.o.p.answered(c.o, offset, mo.Size(len(data)), true)
	return err
}

func (c *control) DataUnavailable(offset mo.Offset, length mo.Size) error {
	err := c.Control.DataUnavailable(offset, length)
	c.o.p.answered(c.o, offset, length, true)
	return err
}

func (c *control) DataError(offset mo.Offset, length mo.Size, reason error) error {
	err := c.Control.DataError(offset, length, reason)
	c.o.p.answered(c.o, offset, length, true)
	return err
}
