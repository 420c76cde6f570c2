package inject_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/zerofill"
	"github.com/tamach/tamach/pmap"
	"github.com/tamach/tamach/vm"
	"github.com/tamach/tamach/vm/vmtest"
)

// A host kernel (vmtest) driven through its exported API, faults given to
// HandleFault as the abort hook would.

const ps = 4 << 10

type env struct {
	k *vm.Kernel
}

func newEnv(t testing.TB, frames int, dp mo.DefaultPager) *env {
	t.Helper()
	if dp == nil {
		dp = zerofill.Pager{}
	}
	return &env{k: vmtest.NewKernel(t, vmtest.Config{PageSize: ps, Frames: frames, DefaultPager: dp, CheckAtEnd: true})}
}

// untilAnswered bounds the tries of a fault that waits for an answer made
// by another goroutine (a call worker, the pager's own): far more yields
// than any answer takes on a loaded machine, so that only a lost answer
// reaches it.
const untilAnswered = 1_000_000

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
