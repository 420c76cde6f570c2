package moremote

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/rampager"
)

// loopback is a server on a loopback TCP port of its own, and a way to
// connect kernels to it.
type loopback struct {
	t   testing.TB
	srv *Server
	l   net.Listener
	wg  sync.WaitGroup
}

func newLoopback(t testing.TB) *loopback {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb := &loopback{t: t, srv: NewServer(), l: l}
	lb.wg.Add(1)
	go func() { defer lb.wg.Done(); lb.srv.Serve(l) }()
	t.Cleanup(func() { l.Close(); lb.srv.Close(); lb.wg.Wait() })
	return lb
}

func (lb *loopback) dial() *Client {
	lb.t.Helper()
	c, err := net.Dial("tcp", lb.l.Addr().String())
	if err != nil {
		lb.t.Fatal(err)
	}
	cl := NewClient(c)
	lb.t.Cleanup(cl.Close)
	return cl
}

// TestPagerConformanceOverTCP: the mo pager conformance suite, run
// against a RAM pager (synchronous and asynchronous) that a Server
// exports, through a Client's proxy over loopback TCP: every scenario
// holds as it does in-process.
func TestPagerConformanceOverTCP(t *testing.T) {
	for _, async := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync", true: "async"}[async], func(t *testing.T) {
			lb := newLoopback(t)
			cl := lb.dial()
			var mu sync.Mutex
			next := uint32(0)
			initial := func(off mo.Offset) byte { return byte(off>>9) ^ byte(off) }
			const size = 256 << 10
			motest.TestPager(t, motest.PagerConfig{
				Size:    size,
				Initial: initial,
				New: func() (mo.Object, error) {
					init := make([]byte, size)
					for i := range init {
						init[i] = initial(mo.Offset(i))
					}
					o, err := rampager.New(rampager.Config{Size: size, Initial: init, Async: async})
					if err != nil {
						return nil, err
					}
					mu.Lock()
					next++
					id := next
					mu.Unlock()
					lb.srv.Export(id, o)
					return cl.Object(id), nil
				},
			})
		})
	}
}

// TestUnknownObjectIsRefused: init of a number the server does not
// export is refused with KERN_INVALID_ARGUMENT, and a call on a control
// that was never initialised too.
func TestUnknownObjectIsRefused(t *testing.T) {
	lb := newLoopback(t)
	cl := lb.dial()
	ctl := motest.NewFrameControl(4096, nil)
	if err := cl.Object(9).Init(0, ctl, 4096); !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("init of an unknown object: %v", err)
	}
	if err := cl.Object(9).DataRequest(1, ctl, 0, 4096, mo.ProtRead); !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("data_request on an unknown control: %v", err)
	}
}

// countingObject counts terminates.
type countingObject struct {
	mo.Object
	mu         sync.Mutex
	terminated map[mo.Seqno]int
	done       chan struct{}
}

func (c *countingObject) Terminate(s mo.Seqno, ctl mo.Control) error {
	err := c.Object.Terminate(s, ctl)
	c.mu.Lock()
	c.terminated[s]++
	c.mu.Unlock()
	close(c.done)
	return err
}

// TestVanishedKernelIsTerminated: when a kernel's connection closes, the
// server terminates its control with the next seqno, and the pager's
// calls on that control then answer KERN_TERMINATED.
func TestVanishedKernelIsTerminated(t *testing.T) {
	lb := newLoopback(t)
	inner, err := rampager.New(rampager.Config{Size: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	obj := &countingObject{Object: inner, terminated: make(map[mo.Seqno]int), done: make(chan struct{})}
	lb.srv.Export(1, obj)
	cl := lb.dial()
	ctl := motest.NewFrameControl(4096, nil)
	p := cl.Object(1)
	if err := p.Init(0, ctl, 4096); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte{7}, 4096)
	if err := p.DataReturn(1, ctl, 0, data, true, false); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	<-obj.done
	obj.mu.Lock()
	defer obj.mu.Unlock()
	if len(obj.terminated) != 1 || obj.terminated[2] != 1 {
		t.Fatalf("terminates %v, want one with seqno 2", obj.terminated)
	}
	if err := p.DataRequest(2, ctl, 0, 4096, mo.ProtRead); !errors.Is(err, ErrDisconnected) && !errors.Is(err, mo.KernInvalidArgument) {
		t.Fatalf("call after close: %v", err)
	}
}

// TestFrameOutOfSequenceClosesTheConnection: a frame whose number is not
// the next one, and a malformed frame, end the connection; the server
// survives and serves the next.
func TestFrameOutOfSequenceClosesTheConnection(t *testing.T) {
	lb := newLoopback(t)
	for _, tc := range []struct {
		name string
		f    frame
		raw  []byte
	}{
		{name: "number", f: frame{num: 5, op: mo.OpInit, length: 4096}},
		{name: "op", f: frame{num: 1, op: 77}},
		{name: "data on init", f: frame{num: 1, op: mo.OpInit, data: []byte{1}}},
		{name: "length", raw: []byte{0, 0, 0, 3, 1, 2, 3}},
	} {
		c, err := net.Dial("tcp", lb.l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		b := tc.raw
		if b == nil {
			b = appendFrame(nil, &tc.f)
		}
		c.Write(b)
		var one [1]byte
		if n, err := c.Read(one[:]); err == nil {
			t.Fatalf("%s: the server answered %d bytes instead of closing", tc.name, n)
		}
		c.Close()
	}
	inner, _ := rampager.New(rampager.Config{Size: 64 << 10})
	lb.srv.Export(1, inner)
	ctl := motest.NewFrameControl(4096, nil)
	if err := lb.dial().Object(1).Init(0, ctl, 4096); err != nil {
		t.Fatalf("a good connection after the bad ones: %v", err)
	}
}
