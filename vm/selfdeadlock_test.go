package vm

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
)

// A pager calling the kernel's API on its own object from inside one of
// the kernel's calls on it.

// selfCallingPager runs onRequest inside DataRequest and onReturn inside
// DataReturn, once each, before passing the call on; it records what
// they returned. It is not fault-safe (mo.Object has no FaultSafe).
type selfCallingPager struct {
	mo.Object
	onRequest, onReturn func() error
	requestErr          error
	returnErr           error
}

func (p *selfCallingPager) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	if f := p.onRequest; f != nil {
		p.onRequest = nil
		p.requestErr = f()
	}
	return p.Object.DataRequest(seq, ctl, off, n, desired)
}

func (p *selfCallingPager) DataReturn(seq mo.Seqno, ctl mo.Control, off mo.Offset, data []byte, dirty, keep bool) error {
	if f := p.onReturn; f != nil {
		p.onReturn = nil
		p.returnErr = f()
	}
	return p.Object.DataReturn(seq, ctl, off, data, dirty, keep)
}

// selfCallingObject maps a two-page object of bytes 1 (first page) and 2
// (second) whose pager is a selfCallingPager.
func selfCallingObject(t *testing.T, e *testEnv) (*selfCallingPager, *Region) {
	t.Helper()
	init := append(bytes.Repeat([]byte{1}, 4<<10), bytes.Repeat([]byte{2}, 4<<10)...)
	inner, err := rampager.New(rampager.Config{Size: 8 << 10, Initial: init})
	if err != nil {
		t.Fatal(err)
	}
	p := &selfCallingPager{Object: inner}
	r, err := e.k.Map(p, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

// wantSelfDeadlock fails t unless err is a *SelfDeadlockError of call on
// p's object at off, wrapping ErrSelfDeadlock.
func wantSelfDeadlock(t *testing.T, err error, call string, p *selfCallingPager, off mo.Offset) {
	t.Helper()
	var sd *SelfDeadlockError
	if !errors.As(err, &sd) || !errors.Is(err, ErrSelfDeadlock) || sd.Call != call || sd.Object != mo.Object(p) || sd.Offset != off {
		t.Fatalf("pager's own call: %v, want a *SelfDeadlockError of %s at object offset %#x", err, call, off)
	}
}

// TestPagerCallingTheKernelOnItsOwnObjectIsRefused: a pager that, inside
// the kernel's data_request or data_return on its object, calls ReadAt,
// WriteAt, Wire or Sync on that object gets a *SelfDeadlockError
// (ErrSelfDeadlock) naming the call and the object offset, where the call
// would need another call on the object or a wait for one (its own
// requested page, another missing page, the page it is being returned,
// Sync's synchronize) — it waited forever before. A resident page is
// served, and so is another object's. The outer call then completes with
// the right data, and the object keeps working.
func TestPagerCallingTheKernelOnItsOwnObjectIsRefused(t *testing.T) {
	page := make([]byte, 4<<10)
	t.Run("ReadAt of the requested page in ReadAt's data_request", func(t *testing.T) {
		e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
		p, r := selfCallingObject(t, e)
		p.onRequest = func() error { _, err := r.ReadAt(make([]byte, 8), 16); return err }
		if _, err := r.ReadAt(page, 0); err != nil || page[0] != 1 {
			t.Fatalf("outer ReadAt: %v, %#x", err, page[0])
		}
		wantSelfDeadlock(t, p.requestErr, "ReadAt", p, 0)
		e.check(t)
	})
	t.Run("ReadAt of another missing page in data_request", func(t *testing.T) {
		e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
		p, r := selfCallingObject(t, e)
		p.onRequest = func() error { _, err := r.ReadAt(make([]byte, 8), 4<<10); return err }
		if _, err := r.ReadAt(page, 0); err != nil || page[0] != 1 {
			t.Fatalf("outer ReadAt: %v, %#x", err, page[0])
		}
		wantSelfDeadlock(t, p.requestErr, "ReadAt", p, 4<<10)
		e.check(t) // the refused call left nothing half made
		if _, err := r.ReadAt(page, 4<<10); err != nil || page[0] != 2 {
			t.Fatalf("the other page afterwards: %v, %#x", err, page[0])
		}
		if s := e.k.Stats(); s.DataRequests != 2 {
			t.Fatalf("%d data_requests, want 2", s.DataRequests)
		}
	})
	t.Run("WriteAt and Wire of the requested page, Sync, in a call worker's data_request", func(t *testing.T) {
		e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
		p, r := selfCallingObject(t, e)
		var writeErr, wireErr error
		p.onRequest = func() error {
			_, writeErr = r.WriteAt([]byte{9}, 3)
			wireErr = r.Wire(0, 4<<10)
			return r.Sync(0, 8<<10)
		}
		b := []byte{0}
		if err := e.load(r.Addr(), b); err != nil || b[0] != 1 {
			t.Fatalf("outer access: %v, %#x", err, b[0])
		}
		wantSelfDeadlock(t, writeErr, "WriteAt", p, 0)
		wantSelfDeadlock(t, wireErr, "Wire", p, 0)
		wantSelfDeadlock(t, p.requestErr, "Sync", p, 0)
		if _, err := r.ReadAt(page, 0); err != nil || page[3] != 1 {
			t.Fatalf("the refused WriteAt changed the page: %v, %#x", err, page[3])
		}
		e.check(t)
	})
	t.Run("ReadAt of the page being returned, in data_return", func(t *testing.T) {
		e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
		p, r := selfCallingObject(t, e)
		if _, err := r.WriteAt([]byte{7}, 4<<10+5); err != nil {
			t.Fatal(err)
		}
		p.onReturn = func() error { _, err := r.ReadAt(make([]byte, 1), 4<<10+5); return err }
		if err := r.Sync(0, 8<<10); err != nil {
			t.Fatalf("outer Sync: %v", err)
		}
		wantSelfDeadlock(t, p.returnErr, "ReadAt", p, 4<<10)
		b := []byte{0}
		if _, err := r.ReadAt(b, 4<<10+5); err != nil || b[0] != 7 {
			t.Fatalf("after the page-out: %v, %#x", err, b[0])
		}
		e.check(t)
	})
	t.Run("a resident page of its own, and another object's missing page, are served", func(t *testing.T) {
		e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
		p, r := selfCallingObject(t, e)
		_, other := selfCallingObject(t, e)
		if _, err := r.ReadAt(page, 4<<10); err != nil {
			t.Fatal(err)
		}
		var own, others [1]byte
		p.onRequest = func() error {
			if _, err := r.ReadAt(own[:], 4<<10); err != nil {
				return err
			}
			_, err := other.ReadAt(others[:], 0)
			return err
		}
		if _, err := r.ReadAt(page, 0); err != nil || page[0] != 1 {
			t.Fatalf("outer ReadAt: %v, %#x", err, page[0])
		}
		if p.requestErr != nil || own[0] != 2 || others[0] != 1 {
			t.Fatalf("pager's calls: %v, read %#x and %#x, want 2 and 1", p.requestErr, own[0], others[0])
		}
		e.check(t)
	})
}
