package inject_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/zerofill"
	"github.com/tamach/tamach/pmap"
	"github.com/tamach/tamach/vm"
)

// A host kernel driven through its exported API: the software MMU's page
// tables in FakeMem, frames in a byte slice, faults given to HandleFault
// as the abort hook would.

const (
	window    = 0x40000000
	frameBase = 0x90000000
	ps        = 4 << 10
)

type env struct {
	k *vm.Kernel
}

func newEnv(t testing.TB, frames int, dp mo.DefaultPager) *env {
	t.Helper()
	fm, err := pmap.NewFakeMem(0x80004000, 0x81000000, 16)
	if err != nil {
		t.Fatal(err)
	}
	fm.FlatMap(0x80000000, 0x80400000, 0xa0000000)
	size := uint32(frames) * ps
	pm, err := pmap.New(pmap.Config{Base: window, Size: 16 << 20,
		Phys: []pmap.Range{{Start: frameBase, Size: size}}, Mem: fm, Alloc: fm, MMU: pmap.NewRecordingMMU(0)})
	if err != nil {
		t.Fatal(err)
	}
	if dp == nil {
		dp = zerofill.Pager{}
	}
	k, err := vm.New(vm.Config{PageSize: ps, Pmap: pm, FrameBase: frameBase, FrameSize: size,
		Mem: &vm.SliceMem{Base: frameBase, Mem: make([]byte, size)}, DefaultPager: dp})
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { k.Pageout(stop); close(done) }()
	t.Cleanup(func() {
		close(stop)
		<-done
		k.Quiesce()
		if err := k.CheckInvariants(); err != nil {
			t.Error(err)
		}
	})
	return &env{k: k}
}

// fault runs the handler for an access to va until it resolves (Retry) or
// is refused (Unhandled), yielding between tries as a waiting goroutine
// does; it gives up after max tries (a hang, for the test to report).
func (e *env) fault(va uint32, acc pmap.Access, max int) (pmap.Resolution, int) {
	for tries := 1; tries <= max; tries++ {
		f := pmap.Fault{Addr: va, Access: acc, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
		if r := e.k.HandleFault(&f, false); r != pmap.Yield {
			return r, tries
		}
		runtime.Gosched()
	}
	return pmap.Yield, max
}

func page(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, ps)
}

// waitFor yields until cond holds, failing the test after a million
// tries.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 1e6 {
			t.Fatalf("waited in vain for %s", what)
		}
		runtime.Gosched()
	}
}

// controls returns the kernels' controls a wrapped object has seen.
func controls(w interface{ Controls() []mo.Control }) []mo.Control { return w.Controls() }
