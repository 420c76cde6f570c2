package moremote

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/tamach/tamach/mo"
)

// ErrDisconnected is a call on a connection that is gone. It wraps
// mo.KernFailure, so a kernel treats it as a refusal (vm keeps a page whose
// data_return was refused, dirty).
var ErrDisconnected = fmt.Errorf("%w: moremote: connection closed", mo.KernFailure)

// conn is one stream with numbered frames in each direction and calls
// that wait for their result.
type conn struct {
	c net.Conn

	wmu  sync.Mutex
	sent uint64 // protected by wmu: num of the last frame sent
	wbuf []byte // protected by wmu

	mu      sync.Mutex
	pending map[uint64]chan frame // protected by mu: calls waiting for a result, by num
	closed  bool                  // protected by mu
	err     error                 // protected by mu: why it closed
	done    chan struct{}         // closed when the connection is gone
}

func newConn(c net.Conn) *conn {
	return &conn{c: c, pending: make(map[uint64]chan frame), done: make(chan struct{})}
}

// send numbers and writes f; with wait, it returns the result.
func (k *conn) send(f *frame, wait bool) (frame, error) {
	var ch chan frame
	k.wmu.Lock()
	k.sent++
	f.num = k.sent
	if wait {
		ch = make(chan frame, 1)
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			k.wmu.Unlock()
			return frame{}, ErrDisconnected
		}
		k.pending[f.num] = ch
		k.mu.Unlock()
	}
	k.wbuf = appendFrame(k.wbuf[:0], f)
	_, err := k.c.Write(k.wbuf)
	if cap(k.wbuf) > 1<<20 {
		k.wbuf = nil
	}
	k.wmu.Unlock()
	if err != nil {
		k.shut(err)
		return frame{}, ErrDisconnected
	}
	if !wait {
		return frame{}, nil
	}
	select {
	case r := <-ch:
		return r, nil
	case <-k.done:
		select {
		case r := <-ch:
			return r, nil
		default:
		}
		return frame{}, ErrDisconnected
	}
}

// reply sends the result of the call numbered num.
func (k *conn) reply(num uint64, err error, attr *mo.Attributes) {
	r := frame{op: opResult, seqno: num}
	r.code, r.text = reasonOf(err)
	if attr != nil {
		setAttr(&r, *attr)
	}
	k.send(&r, false)
}

// shut closes the connection once, failing the calls that wait.
func (k *conn) shut(err error) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed, k.err = true, err
	k.mu.Unlock()
	k.c.Close()
	close(k.done)
}

// readLoop reads frames until the connection fails, checks their
// numbering, gives results to their callers and every other frame to
// handle, in order. It returns why the connection ended.
func (k *conn) readLoop(handle func(f frame) error) error {
	r := bufio.NewReaderSize(k.c, 64<<10)
	var buf []byte
	var got uint64
	for {
		f, err := readFrame(r, &buf)
		if err == nil && f.num != got+1 {
			err = fmt.Errorf("%w: frame %d after %d", ErrFrame, f.num, got)
		}
		if err == nil {
			got = f.num
			if f.op == opResult {
				err = k.result(f)
			} else {
				err = handle(f)
			}
		}
		if err != nil {
			k.shut(err)
			return err
		}
	}
}

func (k *conn) result(f frame) error {
	k.mu.Lock()
	ch, ok := k.pending[f.seqno]
	delete(k.pending, f.seqno)
	k.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: result for frame %d, which waits for none", ErrFrame, f.seqno)
	}
	f.data = nil
	ch <- f
	return nil
}

// isClosed reports whether err ends a connection normally.
func isClosed(err error) bool {
	return err == nil || errors.Is(err, net.ErrClosed)
}
