package mo

import (
	"errors"
	"runtime"
	"sync"
	"testing"
)

// testControl is a Control that records nothing: the registry never
// calls one, it only tells them apart.
type testControl struct{ id int }

func (*testControl) DataSupply(Offset, []byte, Prot, bool, bool) error { return nil }
func (*testControl) DataUnavailable(Offset, Size) error                { return nil }
func (*testControl) DataError(Offset, Size, error) error               { return nil }
func (*testControl) LockRequest(Offset, Size, ReturnPolicy, bool, Prot, bool) error {
	return nil
}
func (*testControl) ChangeAttributes(Attributes, bool) error { return nil }
func (*testControl) GetAttributes() (Attributes, error)      { return Attributes{}, nil }
func (*testControl) Destroy(error) error                     { return nil }
func (*testControl) Ready(Attributes) error                  { return nil }
func (*testControl) SynchronizeCompleted(Offset, Size) error { return nil }

type testState struct{ id int }

func acceptAll(id int) func(Size) (testState, error) {
	return func(Size) (testState, error) { return testState{id}, nil }
}

func mustInit(t *testing.T, r *Kernels[testState], ctl Control, ps Size, id int) *Kernel[testState] {
	t.Helper()
	k, err := r.Init(0, ctl, ps, acceptAll(id))
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	if k.Control() != ctl || k.PageSize() != ps || k.State.id != id || k.Dead() {
		t.Fatalf("init made %+v", k)
	}
	return k
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

func TestKernelsCallFromUnknownControlIsInvalidArgument(t *testing.T) {
	var r Kernels[testState]
	a, stranger := &testControl{1}, &testControl{2}
	_, err := r.Enter(1, a)
	wantErr(t, "enter on an empty registry", err, KernInvalidArgument)
	mustInit(t, &r, a, 4096, 1)
	_, err = r.Enter(1, stranger)
	wantErr(t, "enter from a control that never sent init", err, KernInvalidArgument)
	_, err = r.Lookup(stranger)
	wantErr(t, "lookup of a control that never sent init", err, KernInvalidArgument)
	// The known control was not disturbed: its turn 1 is still due.
	k, err := r.Enter(1, a)
	if err != nil {
		t.Fatal(err)
	}
	k.Leave(1)
}

func TestKernelsSecondInitIsInvalidArgumentAndKeepsTheOrder(t *testing.T) {
	var r Kernels[testState]
	a := &testControl{1}
	k := mustInit(t, &r, a, 4096, 1)
	calls := 0
	accept := func(Size) (testState, error) { calls++; return testState{9}, nil }
	// A repeated Init 0 is refused without waiting for a turn long gone.
	_, err := r.Init(0, a, 4096, accept)
	wantErr(t, "second init with seqno 0", err, KernInvalidArgument)
	// A second Init with the next seqno takes and leaves that turn.
	_, err = r.Init(1, a, 8192, accept)
	wantErr(t, "second init with seqno 1", err, KernInvalidArgument)
	if calls != 0 {
		t.Errorf("accept called %d times for a second init", calls)
	}
	if k.seq.Next() != 2 {
		t.Errorf("next turn %d after the refused init 1, want 2", k.seq.Next())
	}
	if got, _ := r.Lookup(a); got != k || k.PageSize() != 4096 || k.State.id != 1 {
		t.Errorf("the second init changed the kernel: %+v", got)
	}
	if n := len(r.All()); n != 1 {
		t.Errorf("%d kernels registered, want 1", n)
	}
	_, err = r.Init(0, nil, 4096, accept)
	wantErr(t, "init from a nil control", err, KernInvalidArgument)
}

func TestKernelsInitErrorDropsControl(t *testing.T) {
	var r Kernels[testState]
	refuse := errors.New("refused by the pager")
	for i, c := range []struct {
		seqno  Seqno
		ps     Size
		accept func(Size) (testState, error)
		want   error
	}{
		{1, 4096, acceptAll(0), KernInvalidArgument},
		{0, 3000, acceptAll(0), KernInvalidArgument},
		{0, 0, acceptAll(0), KernInvalidArgument},
		{0, 4096, func(Size) (testState, error) { return testState{}, refuse }, refuse},
	} {
		ctl := &testControl{i}
		_, err := r.Init(c.seqno, ctl, c.ps, c.accept)
		wantErr(t, "refused init", err, c.want)
		_, err = r.Enter(1, ctl)
		wantErr(t, "call from a dropped control", err, KernTerminated)
		_, err = r.Init(0, ctl, 4096, acceptAll(0))
		wantErr(t, "init again from a dropped control", err, KernTerminated)
	}
	if r.Live() != 0 || len(r.All()) != 4 {
		t.Errorf("%d live of %d, want 0 of 4", r.Live(), len(r.All()))
	}
}

func TestKernelsCallAfterTerminateIsTerminated(t *testing.T) {
	var r Kernels[testState]
	a := &testControl{1}
	mustInit(t, &r, a, 4096, 1)
	k, err := r.Enter(1, a)
	if err != nil {
		t.Fatal(err)
	}
	// Calls that wait for their turns behind Terminate are refused once
	// they get them, and leave them.
	waited := make(chan error)
	go func() {
		_, err := r.Enter(2, a)
		waited <- err
	}()
	go func() {
		_, err := r.EnterRange(3, a, 0, 4096, 8192)
		waited <- err
	}()
	for k.seq.waiters.Load() < 2 {
		runtime.Gosched() // until both calls wait
	}
	r.Terminate(k)
	k.Leave(1)
	wantErr(t, "call that waited for its turn behind terminate", <-waited, KernTerminated)
	wantErr(t, "call that waited for its turn behind terminate", <-waited, KernTerminated)
	if k.seq.Next() != 4 {
		t.Errorf("next turn %d, want 4: the refused calls left their turns", k.seq.Next())
	}
	_, err = r.Enter(4, a)
	wantErr(t, "call after terminate", err, KernTerminated)
	_, err = r.Lookup(a)
	wantErr(t, "lookup after terminate", err, KernTerminated)
	_, err = r.Init(0, a, 4096, acceptAll(1))
	wantErr(t, "init after terminate", err, KernTerminated)
	if !k.Dead() || r.Live() != 0 || r.last.Load() != nil {
		t.Errorf("dead %v, live %d, last %p after terminate", k.Dead(), r.Live(), r.last.Load())
	}
}

func TestKernelsTwoKernelsAreIndependent(t *testing.T) {
	var r Kernels[testState]
	a, b := &testControl{1}, &testControl{2}
	ka := mustInit(t, &r, a, 4096, 1)
	kb := mustInit(t, &r, b, 65536, 2)
	// Each has its own numbering: both are at turn 1.
	for i := 0; i < 3; i++ {
		for _, c := range []struct {
			ctl Control
			k   *Kernel[testState]
		}{{a, ka}, {b, kb}} {
			k, err := r.Enter(Seqno(1+i), c.ctl)
			if err != nil || k != c.k {
				t.Fatalf("enter %d: %v, %p want %p", i, err, k, c.k)
			}
			k.Leave(Seqno(1 + i))
		}
	}
	// Terminating one leaves the other.
	k, _ := r.Enter(4, a)
	r.Terminate(k)
	k.Leave(4)
	_, err := r.Enter(5, a)
	wantErr(t, "call after terminate", err, KernTerminated)
	if k, err := r.Enter(4, b); err != nil || k != kb || k.PageSize() != 65536 {
		t.Fatalf("other kernel: %v", err)
	} else {
		k.Leave(4)
	}
	if r.Live() != 1 || len(r.All()) != 2 {
		t.Errorf("%d live of %d, want 1 of 2", r.Live(), len(r.All()))
	}
	// A later kernel is listed before the dead one.
	c := &testControl{3}
	mustInit(t, &r, c, 4096, 3)
	all := r.All()
	if len(all) != 3 || all[len(all)-1] != ka {
		t.Errorf("the dead kernel is not last in %v", all)
	}
}

func TestKernelsConcurrentCallsOfTwoKernels(t *testing.T) {
	var r Kernels[testState]
	const calls = 500
	ctls := []*testControl{{1}, {2}}
	for i, c := range ctls {
		mustInit(t, &r, c, 4096, i)
	}
	var wg sync.WaitGroup
	for _, c := range ctls {
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Two goroutines per control, odd and even seqnos: each
				// waits for the other's turns.
				for s := Seqno(1 + g); s <= calls; s += 2 {
					k, err := r.Enter(s, c)
					if err != nil {
						t.Error(err)
						return
					}
					k.Leave(s)
				}
			}()
		}
	}
	wg.Wait()
	for _, k := range r.All() {
		if k.seq.Next() != calls+1 {
			t.Errorf("kernel %d at turn %d, want %d", k.State.id, k.seq.Next(), calls+1)
		}
	}
}

// mallocs counts the heap allocations of n runs of f after one warm-up
// run, all of them (testing.AllocsPerRun rounds an average down).
func mallocs(n int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}

// TestKernelsEnterAllocatesNothing: the lookup of the data path, on the
// cached kernel and after a switch between kernels (a scan), allocates
// nothing; nor do refusals or Terminate.
func TestKernelsEnterAllocatesNothing(t *testing.T) {
	var r Kernels[testState]
	a, b, stranger := &testControl{1}, &testControl{2}, &testControl{3}
	mustInit(t, &r, a, 4096, 1)
	mustInit(t, &r, b, 4096, 2)
	next := map[Control]Seqno{a: 1, b: 1}
	if n := mallocs(200, func() {
		for _, c := range [...]Control{a, a, b} {
			s := next[c]
			k, err := r.Enter(s, c)
			if err != nil {
				panic(err)
			}
			k.Leave(s)
			next[c] = s + 1
		}
	}); n != 0 {
		t.Errorf("%d allocations over 200 rounds of three enters", n)
	}
	if n := mallocs(200, func() {
		if _, err := r.Enter(1, stranger); err == nil {
			panic("stranger accepted")
		}
		if _, err := r.Lookup(a); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("%d allocations over 200 refusals and lookups", n)
	}
	doomed := []Control{b, &testControl{4}}
	mustInit(t, &r, doomed[1], 4096, 4)
	next[doomed[1]] = 1
	if n := mallocs(1, func() {
		c := doomed[0]
		doomed = doomed[1:]
		s := next[c]
		k, _ := r.Enter(s, c)
		r.Terminate(k)
		k.Leave(s)
	}); n != 0 {
		t.Errorf("%d allocations in a terminate", n)
	}
}

func TestKernelsInitAfterCloseIsRefused(t *testing.T) {
	var r Kernels[testState]
	a, b := &testControl{1}, &testControl{2}
	ka := mustInit(t, &r, a, 4096, 1)
	r.Close(KernTerminated)
	_, err := r.Init(0, b, 4096, acceptAll(2))
	wantErr(t, "init after close", err, KernTerminated)
	_, err = r.Enter(1, b)
	wantErr(t, "call from the control refused after close", err, KernTerminated)
	// The kernels already there carry on.
	if k, err := r.Enter(1, a); err != nil || k != ka {
		t.Fatalf("enter after close: %v", err)
	} else {
		k.Leave(1)
	}
}

func TestKernelsEnterRangeRefusesABadRangeAndLeavesTheTurn(t *testing.T) {
	var r Kernels[testState]
	a := &testControl{1}
	mustInit(t, &r, a, 4096, 1)
	_, err := r.EnterRange(1, a, 100, 4096, 16384)
	wantErr(t, "unaligned range", err, KernInvalidArgument)
	_, err = r.EnterRange(2, a, 16384, 4096, 16384)
	wantErr(t, "range beyond the object", err, KernInvalidArgument)
	k, err := r.EnterRange(3, a, 4096, 8192, 16384)
	if err != nil {
		t.Fatalf("good range: %v", err)
	}
	k.Leave(3)
	if err := r.Acknowledge(4, a); err != nil {
		t.Fatal(err)
	}
	if n := k.seq.Next(); n != 5 {
		t.Errorf("next turn %d, want 5: every call took and left its turn", n)
	}
	_, err = r.EnterRange(5, &testControl{2}, 0, 4096, 16384)
	wantErr(t, "range call from a stranger", err, KernInvalidArgument)
	wantErr(t, "acknowledge from a stranger", r.Acknowledge(5, &testControl{2}), KernInvalidArgument)
}
