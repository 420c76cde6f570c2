package vm

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/pmap"
)

// Nested faults: a pager that touches mapped memory while it serves a
// fault.

// touchingPager loads from va through the software MMU inside
// DataRequest, then serves the request from inner.
type touchingPager struct {
	mo.Object
	e    *testEnv
	va   uint32
	onG0 bool
	err  error // of the nested access
	got  byte
}

func (p *touchingPager) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	b := []byte{0}
	if p.onG0 {
		p.err = p.e.accessOnG0(p.va, b)
	} else {
		p.err = p.e.load(p.va, b)
	}
	p.got = b[0]
	return p.Object.DataRequest(seq, ctl, off, n, desired)
}

type safeTouchingPager struct{ *touchingPager }

func (safeTouchingPager) FaultSafe() bool { return true }

// accessOnG0 is a load as a fault taken on g0 makes it: the handler is
// told it cannot wait.
func (e *testEnv) accessOnG0(va uint32, p []byte) error {
	for tries := 0; tries < 1000; tries++ {
		e.k.mu.Lock()
		tr, f, ok := e.w.Walk(va, pmap.Read)
		if ok {
			copy(p, e.mem.Bytes(tr.PA, uint32(len(p))))
			e.k.mu.Unlock()
			return nil
		}
		e.k.mu.Unlock()
		if r := e.k.HandleFault(&f, true); r == pmap.Unhandled {
			return &faultError{va, pmap.Read, e.k.LastUnhandled()}
		}
	}
	return errors.New("a fault on g0 neither resolved nor reported")
}

func nestedObjects(t *testing.T, e *testEnv) (target *Region, inner *rampager.Object) {
	t.Helper()
	init := bytes.Repeat([]byte{0x42}, 8<<10)
	tobj, _ := rampager.New(rampager.Config{Size: 8 << 10, Initial: init})
	r, err := e.k.Map(tobj, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inner, _ = rampager.New(rampager.Config{Size: 8 << 10, Initial: bytes.Repeat([]byte{7}, 8<<10)})
	return r, inner
}

// TestNestedFaultIsServed: a pager called by the calls goroutine (not
// fault-safe) that touches another object's missing page inside
// data_request: the nested fault is served (by the fault-safe pager of
// that object, inline), then the outer one.
func TestNestedFaultIsServed(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	target, inner := nestedObjects(t, e)
	p := &touchingPager{Object: inner, e: e, va: target.Addr()}
	r, err := e.k.Map(p, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	if err := e.load(r.Addr(), b); err != nil || b[0] != 7 {
		t.Fatalf("outer access: %v, %#x", err, b[0])
	}
	if p.err != nil || p.got != 0x42 {
		t.Fatalf("nested access: %v, %#x", p.err, p.got)
	}
	e.check(t)
}

// TestNestedFaultOnG0IsReported: a fault-safe pager called inline (on g0
// on the target) that touches its own object's missing page: that nested
// fault needs a call on an object with a call under way, so it cannot be
// served without waiting, and a fault on g0 cannot wait: it is Unhandled
// with ReasonCannotWait (on the target, a fault report), not a hang; the
// outer fault is then served.
func TestNestedFaultOnG0IsReported(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	_, inner := nestedObjects(t, e)
	p := safeTouchingPager{&touchingPager{Object: inner, e: e, onG0: true}}
	r, err := e.k.Map(p, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.va = r.Addr() + 4<<10 // the object's own second page
	b := []byte{0}
	if err := e.load(r.Addr(), b); err != nil || b[0] != 7 {
		t.Fatalf("outer access: %v, %#x", err, b[0])
	}
	var fe *faultError
	if !errors.As(p.err, &fe) || fe.rep.Reason != ReasonCannotWait || fe.rep.Addr != p.va {
		t.Fatalf("nested access on g0: %v, want an Unhandled report with %v at %#x", p.err, ReasonCannotWait, p.va)
	}
	e.check(t)
}
