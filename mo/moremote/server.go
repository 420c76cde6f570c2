package moremote

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/tamach/tamach/mo"
)

// Server exposes local objects to kernels that reach it over streams.
type Server struct {
	mu    sync.Mutex
	objs  map[uint32]mo.Object           // protected by mu
	conns map[*serverConn]struct{}       // protected by mu
	ctls  map[*remoteControl]*serverConn // protected by mu
}

// NewServer returns a server exporting nothing.
func NewServer() *Server {
	return &Server{objs: make(map[uint32]mo.Object), conns: make(map[*serverConn]struct{}),
		ctls: make(map[*remoteControl]*serverConn)}
}

// Export makes obj reachable as number id.
func (s *Server) Export(id uint32, obj mo.Object) {
	s.mu.Lock()
	s.objs[id] = obj
	s.mu.Unlock()
}

// Serve accepts connections on l and serves each, until l fails.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go s.ServeConn(c)
	}
}

// ServeConn serves one kernel's connection until it closes, then
// terminates, for the objects, every control of that kernel that was
// initialised and not terminated.
func (s *Server) ServeConn(c net.Conn) error {
	sc := &serverConn{s: s, conn: newConn(c), ctls: make(map[ctlKey]*remoteControl)}
	s.mu.Lock()
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	err := sc.conn.readLoop(sc.handle)
	sc.wg.Wait()
	sc.mu.Lock()
	var orphans []*remoteControl
	for _, rc := range sc.ctls {
		if rc.inited && !rc.terminated.Load() {
			orphans = append(orphans, rc)
		}
	}
	sc.mu.Unlock()
	for _, rc := range orphans {
		// The kernel is gone: end its control as it would have,
		// with the next seqno.
		rc.terminated.Store(true)
		rc.obj.Terminate(rc.next, rc)
	}
	s.mu.Lock()
	delete(s.conns, sc)
	for _, rc := range sc.ctls {
		delete(s.ctls, rc)
	}
	s.mu.Unlock()
	if isClosed(err) {
		return nil
	}
	return err
}

// Drop closes the connection of a remote control, as if its kernel had
// gone: a pager that gave up on a kernel calls it. It reports whether ctl
// was a control of this server.
func (s *Server) Drop(ctl mo.Control) bool {
	rc, ok := ctl.(*remoteControl)
	if !ok {
		return false
	}
	s.mu.Lock()
	sc := s.ctls[rc]
	s.mu.Unlock()
	if sc == nil {
		return false
	}
	sc.conn.shut(ErrDisconnected)
	return true
}

// Close closes every connection.
func (s *Server) Close() {
	s.mu.Lock()
	var cs []*serverConn
	for sc := range s.conns {
		cs = append(cs, sc)
	}
	s.mu.Unlock()
	for _, sc := range cs {
		sc.conn.shut(ErrDisconnected)
	}
}

type ctlKey struct{ object, control uint32 }

type serverConn struct {
	s    *Server
	conn *conn
	wg   sync.WaitGroup // calls under way

	mu   sync.Mutex
	ctls map[ctlKey]*remoteControl // protected by mu
}

// handle starts a kernel-to-pager call on a goroutine of its own: calls
// carry seqnos, with which a pager orders them (mo.Sequencer), and a call
// may wait for other kernels (a coherence pager's data_request), so one
// call must not hold up the next.
func (sc *serverConn) handle(f frame) error {
	if !f.op.ToPager() {
		return fmt.Errorf("%w: %v sent to a pager", ErrFrame, f.op)
	}
	sc.s.mu.Lock()
	obj := sc.s.objs[f.object]
	sc.s.mu.Unlock()
	key := ctlKey{f.object, f.control}
	sc.mu.Lock()
	rc := sc.ctls[key]
	if rc == nil && obj != nil && f.op == mo.OpInit {
		rc = &remoteControl{sc: sc, obj: obj, key: key}
		sc.ctls[key] = rc
		sc.s.mu.Lock()
		sc.s.ctls[rc] = sc
		sc.s.mu.Unlock()
	}
	if rc != nil && mo.Seqno(f.seqno) >= rc.next {
		rc.next = mo.Seqno(f.seqno) + 1
	}
	sc.mu.Unlock()
	if rc == nil {
		sc.conn.reply(f.num, mo.KernInvalidArgument, nil)
		return nil
	}
	if f.data != nil {
		f.data = append([]byte(nil), f.data...)
	}
	sc.wg.Add(1)
	go func() {
		defer sc.wg.Done()
		err := sc.call(rc, &f)
		if f.op == mo.OpInit {
			sc.mu.Lock()
			rc.inited = mo.Accepted(err)
			sc.mu.Unlock()
		}
		if f.op == mo.OpTerminate && mo.Accepted(err) {
			rc.terminated.Store(true)
		}
		sc.conn.reply(f.num, err, nil)
	}()
	return nil
}

func (sc *serverConn) call(rc *remoteControl, f *frame) error {
	o, s, off, n := rc.obj, mo.Seqno(f.seqno), mo.Offset(f.offset), mo.Size(f.length)
	switch f.op {
	case mo.OpInit:
		return o.Init(s, rc, n)
	case mo.OpDataRequest:
		return o.DataRequest(s, rc, off, n, f.prot)
	case mo.OpDataUnlock:
		return o.DataUnlock(s, rc, off, n, f.prot)
	case mo.OpDataReturn:
		return o.DataReturn(s, rc, off, f.data, f.flags&flagDirty != 0, f.flags&flagKernelCopy != 0)
	case mo.OpDataInitialize:
		d, ok := o.(mo.DefaultObject)
		if !ok {
			return mo.KernInvalidArgument
		}
		return d.DataInitialize(s, rc, off, f.data)
	case mo.OpSynchronize:
		return o.Synchronize(s, rc, off, n, mo.SyncFlags(f.policy))
	case mo.OpTerminate:
		return o.Terminate(s, rc)
	case mo.OpLockCompleted:
		return o.LockCompleted(s, rc, off, n)
	case mo.OpSupplyCompleted:
		return o.SupplyCompleted(s, rc, off, n, errorOf(f.code, f.text), mo.Offset(f.extra))
	case mo.OpChangeCompleted:
		return o.ChangeCompleted(s, rc, attrOf(f))
	}
	return mo.KernInvalidArgument
}

// remoteControl is a remote kernel's control of one object, as the pager
// sees it. Its calls are one-way messages, as in Mach: they return once
// sent, nil, or KernTerminated once the control was terminated or its
// connection is gone; the kernel's own answer to them is not waited for
// (get_attributes excepted).
type remoteControl struct {
	sc         *serverConn
	obj        mo.Object
	key        ctlKey
	next       mo.Seqno // protected by sc.mu: one past the highest seqno received
	inited     bool     // protected by sc.mu: init was accepted
	terminated atomic.Bool
}

var _ mo.Control = (*remoteControl)(nil)

func (rc *remoteControl) send(f frame) error {
	if rc.terminated.Load() {
		return mo.KernTerminated
	}
	f.object, f.control = rc.key.object, rc.key.control
	if _, err := rc.sc.conn.send(&f, false); err != nil {
		return fmt.Errorf("%w: %w", mo.KernTerminated, err)
	}
	return nil
}

func flag(b bool, v uint8) uint8 {
	if b {
		return v
	}
	return 0
}

// DataSupply implements mo.Control.
func (rc *remoteControl) DataSupply(off mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	return rc.send(frame{op: mo.OpDataSupply, offset: uint64(off), length: uint64(len(data)), data: data, prot: lock,
		flags: flag(precious, flagPrecious) | flag(reply, flagReply)})
}

// DataUnavailable implements mo.Control.
func (rc *remoteControl) DataUnavailable(off mo.Offset, n mo.Size) error {
	return rc.send(frame{op: mo.OpDataUnavailable, offset: uint64(off), length: uint64(n)})
}

// DataError implements mo.Control.
func (rc *remoteControl) DataError(off mo.Offset, n mo.Size, reason error) error {
	code, text := reasonOf(reason)
	if reason != nil && code == 0 {
		code = int32(mo.KernMemoryError)
	}
	return rc.send(frame{op: mo.OpDataError, offset: uint64(off), length: uint64(n), code: code, text: text})
}

// LockRequest implements mo.Control.
func (rc *remoteControl) LockRequest(off mo.Offset, n mo.Size, policy mo.ReturnPolicy, flush bool, lock mo.Prot, reply bool) error {
	if !policy.Valid() || !lock.Valid() {
		return mo.KernInvalidArgument
	}
	return rc.send(frame{op: mo.OpLockRequest, offset: uint64(off), length: uint64(n), policy: uint8(policy), prot: lock,
		flags: flag(flush, flagFlush) | flag(reply, flagReply)})
}

// ChangeAttributes implements mo.Control.
func (rc *remoteControl) ChangeAttributes(attr mo.Attributes, reply bool) error {
	if !attr.CopyStrategy.Valid() {
		return mo.KernInvalidArgument
	}
	f := frame{op: mo.OpChangeAttributes, flags: flag(reply, flagReply)}
	setAttr(&f, attr)
	return rc.send(f)
}

// GetAttributes implements mo.Control: a call that waits for the kernel's
// answer.
func (rc *remoteControl) GetAttributes() (mo.Attributes, error) {
	if rc.terminated.Load() {
		return mo.Attributes{}, mo.KernTerminated
	}
	f := frame{op: mo.OpGetAttributes, object: rc.key.object, control: rc.key.control}
	r, err := rc.sc.conn.send(&f, true)
	if err != nil {
		return mo.Attributes{}, fmt.Errorf("%w: %w", mo.KernTerminated, err)
	}
	return attrOf(&r), errorOf(r.code, r.text)
}

// Destroy implements mo.Control.
func (rc *remoteControl) Destroy(reason error) error {
	code, text := reasonOf(reason)
	return rc.send(frame{op: mo.OpDestroy, code: code, text: text})
}

// Ready implements mo.Control.
func (rc *remoteControl) Ready(attr mo.Attributes) error {
	if !attr.CopyStrategy.Valid() {
		return mo.KernInvalidArgument
	}
	f := frame{op: mo.OpReady}
	setAttr(&f, attr)
	return rc.send(f)
}

// SynchronizeCompleted implements mo.Control.
func (rc *remoteControl) SynchronizeCompleted(off mo.Offset, n mo.Size) error {
	return rc.send(frame{op: mo.OpSynchronizeCompleted, offset: uint64(off), length: uint64(n)})
}
