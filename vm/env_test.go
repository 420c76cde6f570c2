package vm

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/zerofill"
	"github.com/tamach/tamach/pmap"
)

// testEnv is a kernel over host memory: FakeMem page tables, a
// RecordingMMU, a byte slice as the frame pool, and the software MMU as
// the processor.
type testEnv struct {
	k   *Kernel
	mem *SliceMem
	fm  *pmap.FakeMem
	mmu *pmap.RecordingMMU
	w   pmap.Walker
	// faultG: access says which goroutine took the fault (pmap.Fault.G),
	// as the abort hook does on the target.
	faultG bool
}

const (
	testWindow    = 0x40000000
	testFrameBase = 0x90000000
)

type envOpt struct {
	ps        uint32
	frames    int
	windowMiB uint32
	dp        mo.DefaultPager
	trace     *mo.Trace
	low, high int
	reserve   int
	noPageout bool
}

func newEnv(t testing.TB, o envOpt) *testEnv {
	t.Helper()
	if o.windowMiB == 0 {
		o.windowMiB = 16
	}
	if o.dp == nil {
		o.dp = zerofill.Pager{}
	}
	fm, err := pmap.NewFakeMem(0x80004000, 0x81000000, int(o.windowMiB))
	if err != nil {
		t.Fatal(err)
	}
	fm.FlatMap(0x80000000, 0x80400000, 0xa0000000)
	mmu := pmap.NewRecordingMMU(0)
	size := uint32(o.frames) * o.ps
	pm, err := pmap.New(pmap.Config{Base: testWindow, Size: o.windowMiB << 20,
		Phys: []pmap.Range{{Start: testFrameBase, Size: size}}, Mem: fm, Alloc: fm, MMU: mmu})
	if err != nil {
		t.Fatal(err)
	}
	mem := &SliceMem{Base: testFrameBase, Mem: make([]byte, size)}
	k, err := New(Config{PageSize: o.ps, Pmap: pm, FrameBase: testFrameBase, FrameSize: size, Mem: mem,
		DefaultPager: o.dp, Trace: o.trace, LowFrames: o.low, HighFrames: o.high, ReserveFrames: o.reserve})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{k: k, mem: mem, fm: fm, mmu: mmu, w: pmap.Walker{Mem: fm, DACR: 1, AFE: true}}
	if !o.noPageout {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { k.Pageout(stop); close(done) }()
		t.Cleanup(func() { close(stop); <-done })
	}
	return e
}

// faultError is an access the handler answered Unhandled.
type faultError struct {
	va  uint32
	acc pmap.Access
	rep FaultReport
}

func (e *faultError) Error() string {
	return fmt.Sprintf("unhandled %v fault at %#x: %v", e.acc, e.va, e.rep.Reason)
}

// access is one load or store of p at va (within one page), as the
// processor does it: the walk and the access are atomic with respect to
// the kernel (held under its lock, as one core with the handler on the
// same core would see them); on a fault the handler runs (outside the
// lock, as the abort handler does), and the access is retried on Retry,
// after a yield on Yield.
func (e *testEnv) access(va uint32, p []byte, acc pmap.Access) error {
	for {
		e.k.mu.Lock()
		tr, f, ok := e.w.Walk(va, acc)
		if ok {
			b := e.mem.Bytes(tr.PA, uint32(len(p)))
			if acc == pmap.Write {
				copy(b, p)
			} else {
				copy(p, b)
			}
			e.k.mu.Unlock()
			return nil
		}
		e.k.mu.Unlock()
		if e.faultG {
			f.G = pmap.CurrentG()
		}
		switch e.k.HandleFault(&f, false) {
		case pmap.Retry:
		case pmap.Yield:
			runtime.Gosched()
		default:
			return &faultError{va, acc, e.k.LastUnhandled()}
		}
	}
}

// load and store access any range, page by page.
func (e *testEnv) load(va uint32, p []byte) error  { return e.span(va, p, pmap.Read) }
func (e *testEnv) store(va uint32, p []byte) error { return e.span(va, p, pmap.Write) }

func (e *testEnv) span(va uint32, p []byte, acc pmap.Access) error {
	ps := e.k.ps
	for len(p) > 0 {
		n := min(uint32(len(p)), ps-va&(ps-1))
		if err := e.access(va, p[:n], acc); err != nil {
			return err
		}
		va += n
		p = p[n:]
	}
	return nil
}

func (e *testEnv) check(t testing.TB) {
	t.Helper()
	if err := e.k.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
