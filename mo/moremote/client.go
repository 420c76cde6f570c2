package moremote

import (
	"fmt"
	"net"
	"sync"

	"github.com/tamach/tamach/mo"
)

// Client is a kernel's end of a connection to a Server: it gives the
// kernel a proxy mo.Object for each remote object, and delivers the
// pager's calls to the kernel's controls.
type Client struct {
	conn   *conn
	ended  chan struct{} // closed when the reader and the dispatcher are done
	stall  chan struct{} // closed by Stall
	resume chan struct{} // closed by Close, ending a stall

	mu       sync.Mutex
	ids      map[ctlRef]uint32     // protected by mu: control numbers
	ctls     map[ctlKey]mo.Control // protected by mu
	next     uint32                // protected by mu: last control number given
	queue    []frame               // protected by mu: pager calls not yet delivered
	cond     sync.Cond             // L is &mu: queue grew or the connection ended
	stopping bool                  // protected by mu
	stalled  bool                  // protected by mu
	stats    ClientStats           // protected by mu
	closeMu  sync.Once
	objects  map[uint32]*proxyObject // protected by mu
}

type ctlRef struct {
	object uint32
	ctl    mo.Control
}

// ClientStats are a client's counters.
type ClientStats struct {
	Calls     uint64 // kernel-to-pager calls sent
	Delivered uint64 // pager-to-kernel calls delivered
	Refused   uint64 // pager-to-kernel calls for an unknown control
}

// NewClient serves the kernel's end of c until Close or until c fails.
func NewClient(c net.Conn) *Client {
	cl := &Client{conn: newConn(c), ended: make(chan struct{}), stall: make(chan struct{}), resume: make(chan struct{}),
		ids: make(map[ctlRef]uint32), ctls: make(map[ctlKey]mo.Control), objects: make(map[uint32]*proxyObject)}
	cl.cond.L = &cl.mu
	readDone := make(chan struct{})
	go func() {
		cl.conn.readLoop(cl.handle)
		close(readDone)
		cl.mu.Lock()
		cl.stopping = true
		cl.cond.Broadcast()
		cl.mu.Unlock()
	}()
	go func() {
		cl.dispatch()
		<-readDone
		close(cl.ended)
	}()
	return cl
}

// Object returns the proxy of the server's object number id. Its methods
// send the call and wait for the pager's result; it is not mo.FaultSafe,
// so vm calls it from its call workers.
func (c *Client) Object(id uint32) mo.Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.objects[id]
	if p == nil {
		p = &proxyObject{c: c, id: id}
		c.objects[id] = p
	}
	return p
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.conn.done }

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Stall stops reading from the connection, with the connection left
// open, as a machine that hangs would: the pager's calls are no longer
// delivered or answered, and calls to the pager wait. For tests of a pager
// that must give up on a kernel.
func (c *Client) Stall() {
	c.mu.Lock()
	if !c.stalled {
		c.stalled = true
		close(c.stall)
	}
	c.mu.Unlock()
}

// Close closes the connection and waits until no pager call is being
// delivered. Calls waiting for a result fail with ErrDisconnected.
func (c *Client) Close() {
	c.closeMu.Do(func() { close(c.resume) })
	c.conn.shut(ErrDisconnected)
	<-c.ended
}

func (c *Client) stalledNow() bool {
	select {
	case <-c.stall:
		return true
	default:
		return false
	}
}

// handle queues a pager call for the dispatcher, which delivers them in
// the order sent, as Mach delivered a port's messages; get_attributes is
// answered at once (it only reads the kernel's state).
func (c *Client) handle(f frame) error {
	if c.stalledNow() {
		<-c.resume
		return ErrDisconnected
	}
	if f.op.ToPager() {
		return fmt.Errorf("%w: %v sent to a kernel", ErrFrame, f.op)
	}
	if f.op == mo.OpGetAttributes {
		c.mu.Lock()
		ctl := c.ctls[ctlKey{f.object, f.control}]
		c.mu.Unlock()
		if ctl == nil {
			c.conn.reply(f.num, mo.KernTerminated, nil)
			return nil
		}
		a, err := ctl.GetAttributes()
		c.conn.reply(f.num, err, &a)
		return nil
	}
	if f.data != nil {
		f.data = append([]byte(nil), f.data...)
	}
	c.mu.Lock()
	c.queue = append(c.queue, f)
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

// dispatch delivers queued pager calls, one at a time, until the
// connection ends.
func (c *Client) dispatch() {
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.stopping {
			c.cond.Wait()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = frame{}
		c.queue = c.queue[1:]
		ctl := c.ctls[ctlKey{f.object, f.control}]
		if ctl == nil {
			c.stats.Refused++
		} else {
			c.stats.Delivered++
		}
		c.mu.Unlock()
		if ctl != nil {
			deliver(ctl, &f)
		}
	}
}

// deliver makes one pager call on the kernel's control. Its result is
// not sent back: pager-to-kernel calls are one-way.
func deliver(ctl mo.Control, f *frame) {
	off, n := mo.Offset(f.offset), mo.Size(f.length)
	switch f.op {
	case mo.OpDataSupply:
		ctl.DataSupply(off, f.data, f.prot, f.flags&flagPrecious != 0, f.flags&flagReply != 0)
	case mo.OpDataUnavailable:
		ctl.DataUnavailable(off, n)
	case mo.OpDataError:
		ctl.DataError(off, n, errorOf(f.code, f.text))
	case mo.OpLockRequest:
		ctl.LockRequest(off, n, mo.ReturnPolicy(f.policy), f.flags&flagFlush != 0, f.prot, f.flags&flagReply != 0)
	case mo.OpChangeAttributes:
		ctl.ChangeAttributes(attrOf(f), f.flags&flagReply != 0)
	case mo.OpDestroy:
		ctl.Destroy(errorOf(f.code, f.text))
	case mo.OpReady:
		ctl.Ready(attrOf(f))
	case mo.OpSynchronizeCompleted:
		ctl.SynchronizeCompleted(off, n)
	}
}

// proxyObject is a remote object as a kernel sees it.
type proxyObject struct {
	c  *Client
	id uint32
}

var _ mo.DefaultObject = (*proxyObject)(nil)

// call sends a kernel-to-pager call and returns the pager's result.
// Init numbers ctl; a refused Init and an accepted Terminate forget it.
func (p *proxyObject) call(f frame, ctl mo.Control) error {
	c := p.c
	ref := ctlRef{p.id, ctl}
	c.mu.Lock()
	id, ok := c.ids[ref]
	if !ok {
		if f.op != mo.OpInit {
			c.mu.Unlock()
			return mo.KernInvalidArgument
		}
		c.next++
		id = c.next
		c.ids[ref] = id
		c.ctls[ctlKey{p.id, id}] = ctl
	}
	c.stats.Calls++
	c.mu.Unlock()
	f.object, f.control = p.id, id
	r, err := c.conn.send(&f, true)
	if err == nil {
		err = errorOf(r.code, r.text)
	}
	if f.op == mo.OpInit && !mo.Accepted(err) || f.op == mo.OpTerminate && mo.Accepted(err) {
		c.mu.Lock()
		delete(c.ids, ref)
		delete(c.ctls, ctlKey{p.id, id})
		c.mu.Unlock()
	}
	return err
}

// Init implements mo.Object.
func (p *proxyObject) Init(s mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	return p.call(frame{op: mo.OpInit, seqno: uint64(s), length: uint64(pageSize)}, ctl)
}

// DataRequest implements mo.Object. Arguments are the pager's to check:
// a call refused here would leave a gap in the seqnos the pager sees.
func (p *proxyObject) DataRequest(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	return p.call(frame{op: mo.OpDataRequest, seqno: uint64(s), offset: uint64(off), length: uint64(n), prot: desired}, ctl)
}

// DataUnlock implements mo.Object.
func (p *proxyObject) DataUnlock(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	return p.call(frame{op: mo.OpDataUnlock, seqno: uint64(s), offset: uint64(off), length: uint64(n), prot: desired}, ctl)
}

// DataReturn implements mo.Object; the data is sent before it returns.
func (p *proxyObject) DataReturn(s mo.Seqno, ctl mo.Control, off mo.Offset, data []byte, dirty, kernelCopy bool) error {
	if len(data) > MaxData {
		return mo.KernInvalidArgument
	}
	return p.call(frame{op: mo.OpDataReturn, seqno: uint64(s), offset: uint64(off), length: uint64(len(data)), data: data,
		flags: flag(dirty, flagDirty) | flag(kernelCopy, flagKernelCopy)}, ctl)
}

// DataInitialize implements mo.DefaultObject.
func (p *proxyObject) DataInitialize(s mo.Seqno, ctl mo.Control, off mo.Offset, data []byte) error {
	if len(data) > MaxData {
		return mo.KernInvalidArgument
	}
	return p.call(frame{op: mo.OpDataInitialize, seqno: uint64(s), offset: uint64(off), length: uint64(len(data)), data: data}, ctl)
}

// Synchronize implements mo.Object.
func (p *proxyObject) Synchronize(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, flags mo.SyncFlags) error {
	return p.call(frame{op: mo.OpSynchronize, seqno: uint64(s), offset: uint64(off), length: uint64(n), policy: uint8(flags)}, ctl)
}

// Terminate implements mo.Object.
func (p *proxyObject) Terminate(s mo.Seqno, ctl mo.Control) error {
	return p.call(frame{op: mo.OpTerminate, seqno: uint64(s)}, ctl)
}

// LockCompleted implements mo.Object.
func (p *proxyObject) LockCompleted(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size) error {
	return p.call(frame{op: mo.OpLockCompleted, seqno: uint64(s), offset: uint64(off), length: uint64(n)}, ctl)
}

// SupplyCompleted implements mo.Object.
func (p *proxyObject) SupplyCompleted(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, result error, errorOffset mo.Offset) error {
	code, text := reasonOf(result)
	return p.call(frame{op: mo.OpSupplyCompleted, seqno: uint64(s), offset: uint64(off), length: uint64(n),
		code: code, text: text, extra: uint64(errorOffset)}, ctl)
}

// ChangeCompleted implements mo.Object.
func (p *proxyObject) ChangeCompleted(s mo.Seqno, ctl mo.Control, attr mo.Attributes) error {
	f := frame{op: mo.OpChangeCompleted, seqno: uint64(s)}
	setAttr(&f, attr)
	return p.call(f, ctl)
}
