package vm

import (
	"bytes"
	"errors"
	"sync"
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

// TestNestedFaultIsServed: a pager called by a call worker (not
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

// notFaultSafe hides its pager's FaultSafe method: its calls are made by
// the call workers.
type notFaultSafe struct{ mo.Object }

// TestNestedFaultBetweenTwoPagersThatAreNotFaultSafe: a pager called by a
// call worker touches, inside data_request, a missing page of an object
// whose pager is not fault-safe either: the nested call goes to another
// worker instead of waiting behind the call that waits for it; the nested
// access is served, then the outer one.
func TestNestedFaultBetweenTwoPagersThatAreNotFaultSafe(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	init := bytes.Repeat([]byte{0x42}, 8<<10)
	tobj, _ := rampager.New(rampager.Config{Size: 8 << 10, Initial: init})
	target, err := e.k.Map(notFaultSafe{tobj}, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := rampager.New(rampager.Config{Size: 8 << 10, Initial: bytes.Repeat([]byte{7}, 8<<10)})
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
	if s := e.k.Stats(); s.Unhandled != 0 || s.DataRequests != 2 {
		t.Fatalf("stats %+v: want two data_requests and no unhandled fault", s)
	}
	e.check(t)
}

// TestNestedFaultsDeeperThanTheCallWorkersAreReported: a chain of pagers
// that are not fault-safe, each touching the next one's missing page
// inside data_request, one deeper than there are call workers: the
// deepest nested fault finds every worker busy and is Unhandled with
// ReasonNoCallWorker, naming its address, rather than hanging; the chain
// is then served from the inside out, and the page the deepest fault
// wanted is served when touched again (its call was not left half made).
func TestNestedFaultsDeeperThanTheCallWorkersAreReported(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	e.k.callWaitLimit = 1000 // the default takes seconds of retries
	last, _ := rampager.New(rampager.Config{Size: 8 << 10, Initial: bytes.Repeat([]byte{0xee}, 8<<10)})
	lastR, err := e.k.Map(notFaultSafe{last}, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chain := make([]*touchingPager, callWorkers)
	va := lastR.Addr()
	for i := len(chain) - 1; i >= 0; i-- {
		inner, _ := rampager.New(rampager.Config{Size: 8 << 10, Initial: bytes.Repeat([]byte{byte(i + 1)}, 8<<10)})
		chain[i] = &touchingPager{Object: inner, e: e, va: va}
		r, err := e.k.Map(chain[i], 8<<10, 0, 8<<10, MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		va = r.Addr()
	}
	b := []byte{0}
	if err := e.load(va, b); err != nil || b[0] != 1 {
		t.Fatalf("outer access: %v, %#x", err, b[0])
	}
	for i, p := range chain[:len(chain)-1] {
		if p.err != nil || p.got != byte(i+2) {
			t.Fatalf("nested access %d: %v, %#x", i+1, p.err, p.got)
		}
	}
	deepest := chain[len(chain)-1]
	var fe *faultError
	if !errors.As(deepest.err, &fe) || fe.rep.Reason != ReasonNoCallWorker || fe.rep.Addr != lastR.Addr() {
		t.Fatalf("deepest nested access: %v, want an Unhandled report with %v at %#x",
			deepest.err, ReasonNoCallWorker, lastR.Addr())
	}
	if err := e.load(lastR.Addr(), b); err != nil || b[0] != 0xee {
		t.Fatalf("access after the report: %v, %#x", err, b[0])
	}
	if s := e.k.Stats(); s.Unhandled != 1 || s.DataRequests != uint64(len(chain)+1) {
		t.Fatalf("stats %+v: want %d data_requests and one unhandled fault", s, len(chain)+1)
	}
	e.check(t)
}

// heldPager answers data_request only once release is closed: a slow
// pager (a network store, say) that keeps a call worker busy.
type heldPager struct {
	mo.Object
	release <-chan struct{}
	entered chan<- struct{}
}

func (h heldPager) DataRequest(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	h.entered <- struct{}{}
	<-h.release
	return h.Object.DataRequest(seqno, ctl, off, n, desired)
}

// TestFaultWaitsWhileEveryCallWorkerIsBusy: with every call worker inside
// a slow pager's data_request, a fault on yet another object whose pager
// is not fault-safe waits (Yield), without a report, and is served once a
// worker finishes its call.
func TestFaultWaitsWhileEveryCallWorkerIsBusy(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 32})
	release := make(chan struct{})
	entered := make(chan struct{}, callWorkers)
	done := make(chan error, callWorkers)
	for i := 0; i < callWorkers; i++ {
		inner, _ := rampager.New(rampager.Config{Size: 8 << 10})
		r, err := e.k.Map(heldPager{inner, release, entered}, 8<<10, 0, 8<<10, MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		go func() { done <- e.load(r.Addr(), []byte{0}) }()
	}
	for i := 0; i < callWorkers; i++ {
		<-entered
	}
	last, _ := rampager.New(rampager.Config{Size: 8 << 10, Initial: bytes.Repeat([]byte{0x5c}, 8<<10)})
	lastR, err := e.k.Map(notFaultSafe{last}, 8<<10, 0, 8<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := pmap.Fault{Addr: lastR.Addr(), Access: pmap.Read, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
	for i := 0; i < 100; i++ {
		if r := e.k.HandleFault(&f, false); r != pmap.Yield {
			t.Fatalf("fault %d with every worker busy: %v (%v), want yield", i, r, e.k.LastUnhandled().Reason)
		}
	}
	close(release)
	for i := 0; i < callWorkers; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	b := []byte{0}
	if err := e.load(lastR.Addr(), b); err != nil || b[0] != 0x5c {
		t.Fatalf("after the workers finished: %v, %#x", err, b[0])
	}
	if s := e.k.Stats(); s.Unhandled != 0 {
		t.Fatalf("%d faults reported", s.Unhandled)
	}
	e.check(t)
}

// ownTouchingPager loads from va, an address of its own object's mapping,
// inside the data_request for offset touchOff, then serves the request
// from the pager it wraps. With serialise it takes one call at a time,
// holding a lock across the whole call, as a pager that keeps its
// mo.Sequencer turn across the access would.
type ownTouchingPager struct {
	mo.Object
	e         *testEnv
	touchOff  mo.Offset
	va        uint32
	serialise bool
	serial    sync.Mutex
	// afterAnswer: the access comes after the wrapped pager took its
	// seqno turn, left it and answered, as a pager that serves its
	// calls concurrently does (GNU Hurd's libpager releases the seqno
	// before it reads the page); otherwise before it.
	afterAnswer bool
	err         error // of the access
	got         byte
	touched     chan struct{} // closed after the access
}

func (p *ownTouchingPager) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	if p.serialise {
		p.serial.Lock()
		defer p.serial.Unlock()
	}
	if off == p.touchOff && !p.afterAnswer {
		p.touch()
	}
	err := p.Object.DataRequest(seq, ctl, off, n, desired)
	if off == p.touchOff && p.afterAnswer {
		p.touch()
	}
	return err
}

func (p *ownTouchingPager) touch() {
	b := []byte{0}
	p.err = p.e.load(p.va, b)
	p.got = b[0]
	close(p.touched)
}

// mapOwnTouching maps a 4-page object whose page i holds i+1, served by
// p (not fault-safe: its calls are made by the call workers), with p.va
// set to the object's page touch.
func mapOwnTouching(t *testing.T, e *testEnv, p *ownTouchingPager, touch uint32) *Region {
	t.Helper()
	init := make([]byte, 16<<10)
	for i := range init {
		init[i] = byte(i>>12 + 1)
	}
	inner, err := rampager.New(rampager.Config{Size: 16 << 10, Initial: init})
	if err != nil {
		t.Fatal(err)
	}
	p.Object, p.e, p.touched = inner, e, make(chan struct{})
	e.faultG = true
	r, err := e.k.Map(p, 16<<10, 0, 16<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.va = r.Addr() + touch<<12
	return r
}

// TestPagerTouchingAnotherPageOfItsObjectIsServed: a pager called by a
// call worker that touches, inside data_request, another missing page of
// its own object: that page's data_request goes to another worker while
// the first call is under way (the protocol lets a kernel call one object
// from several goroutines), the pager takes it, and both accesses are
// served, with no report.
func TestPagerTouchingAnotherPageOfItsObjectIsServed(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	p := &ownTouchingPager{touchOff: 0, afterAnswer: true}
	r := mapOwnTouching(t, e, p, 2)
	b := []byte{0}
	if err := e.load(r.Addr(), b); err != nil || b[0] != 1 {
		t.Fatalf("outer access: %v, %#x", err, b[0])
	}
	<-p.touched // the access comes after the answer
	if p.err != nil || p.got != 3 {
		t.Fatalf("nested access to page 2: %v, %#x", p.err, p.got)
	}
	if s := e.k.Stats(); s.Unhandled != 0 || s.DataRequests != 2 {
		t.Fatalf("stats %+v: want two data_requests and no unhandled fault", s)
	}
	e.check(t)
}

// TestPagerTouchingItsOwnRequestedPageIsReported: a pager called by a
// call worker that touches, inside data_request, the very page it was
// asked for: that access can only wait for the call it is part of. Once
// accesses retried callWaitLimit times with no call on the object
// returning, it is Unhandled with ReasonSelfDeadlock, the report naming
// its address, instead of a hang; the pager then answers, and the outer
// access is served.
func TestPagerTouchingItsOwnRequestedPageIsReported(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	e.k.callWaitLimit = 1000 // the default takes seconds of retries
	p := &ownTouchingPager{touchOff: 1 << 12}
	r := mapOwnTouching(t, e, p, 1)
	b := []byte{0}
	if err := e.load(r.Addr()+1<<12, b); err != nil || b[0] != 2 {
		t.Fatalf("outer access: %v, %#x", err, b[0])
	}
	var fe *faultError
	if !errors.As(p.err, &fe) || fe.rep.Reason != ReasonSelfDeadlock || fe.rep.Addr != p.va {
		t.Fatalf("the pager's access to its own requested page: %v, want an Unhandled report with %v at %#x",
			p.err, ReasonSelfDeadlock, p.va)
	}
	if s := e.k.Stats(); s.Unhandled != 1 || s.DataRequests != 1 {
		t.Fatalf("stats %+v: want one data_request and one unhandled fault", s)
	}
	e.check(t)
}

// TestSerialPagerTouchingAnotherPageOfItsObjectIsReported: as
// TestPagerTouchingAnotherPageOfItsObjectIsServed, but the pager takes
// one call at a time and holds its turn across the access: the second
// page's call waits for the first, which waits for the access. The
// access is Unhandled with ReasonSelfDeadlock, naming its address; the
// first call then ends, the second is served after it, and so are both
// pages.
func TestSerialPagerTouchingAnotherPageOfItsObjectIsReported(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16})
	e.k.callWaitLimit = 1000
	p := &ownTouchingPager{touchOff: 0, serialise: true}
	r := mapOwnTouching(t, e, p, 3)
	b := []byte{0}
	if err := e.load(r.Addr(), b); err != nil || b[0] != 1 {
		t.Fatalf("outer access: %v, %#x", err, b[0])
	}
	var fe *faultError
	if !errors.As(p.err, &fe) || fe.rep.Reason != ReasonSelfDeadlock || fe.rep.Addr != p.va {
		t.Fatalf("nested access to page 3: %v, want an Unhandled report with %v at %#x",
			p.err, ReasonSelfDeadlock, p.va)
	}
	if err := e.load(p.va, b); err != nil || b[0] != 4 {
		t.Fatalf("page 3 after the report: %v, %#x", err, b[0])
	}
	if s := e.k.Stats(); s.Unhandled != 1 || s.DataRequests != 2 {
		t.Fatalf("stats %+v: want two data_requests and one unhandled fault", s)
	}
	e.check(t)
}
