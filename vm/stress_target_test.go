//go:build tamago

package vm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/inject"
	"github.com/tamach/tamach/pager/rampager"
)

// TestTargetStress is the stress test with real faults: goroutines load
// and store through Region.Bytes(), read with ReadAt, sync, unmap and map
// again objects four times the frame pool, under forced garbage
// collections, one object's pager answering late, twice and out of order;
// every byte is checked against a model, until at least 100,000 faults
// were resolved. A failure names the seed (-stress.seed or TAMACH_SEED
// through the runner gives it back).
func TestTargetStress(t *testing.T) {
	const ps = 4 << 10
	const want = 100_000
	seed := seedFromEnv()
	t.Logf("target stress seed=%d (rerun with -stress.seed=%d)", seed, seed)
	tg := newTarget(t, 64)
	k := tg.Kernel
	frames := k.Stats().Frames
	perWorker := uint32(frames) * ps // four workers: objects 4 times the pool
	const workers = 4
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		mu     sync.Mutex
		first  error
	)
	fail := func(w, step int, format string, args ...any) {
		mu.Lock()
		if first == nil {
			first = fmt.Errorf("target stress seed=%d worker %d step %d: %s (rerun with -stress.seed=%d)",
				seed, w, step, fmt.Sprintf(format, args...), seed)
		}
		mu.Unlock()
		failed.Store(true)
	}
	resolved := func() uint64 { s := k.Stats(); return s.Faults - s.Yields }
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			type tobj struct {
				obj   mo.Object // nil: anonymous memory
				size  uint32
				model []byte
				r     *Region
			}
			var objs []*tobj
			for i, size := range []uint32{perWorker / 2, perWorker / 4, perWorker / 4} {
				o := &tobj{size: size, model: make([]byte, size)}
				if i < 2 {
					rp, err := rampager.New(rampager.Config{Size: mo.Size(size)})
					if err != nil {
						fail(w, 0, "%v", err)
						return
					}
					o.obj = rp
					if i == 1 {
						o.obj = inject.Wrap(rp, inject.NewSchedule(seed+uint64(w)).
							Rate(inject.Delay, 100000).Rate(inject.Duplicate, 50000).Rate(inject.Reorder, 100000))
					}
				}
				objs = append(objs, o)
			}
			var buf [256]byte
			for step := 1; !failed.Load() && resolved() < want; step++ {
				o := objs[rng.IntN(len(objs))]
				if o.r == nil {
					var err error
					if o.obj == nil {
						o.r, err = k.Allocate(o.size, MapOptions{})
						clear(o.model)
					} else {
						o.r, err = k.Map(o.obj, mo.Size(o.size), 0, o.size, MapOptions{})
					}
					if err != nil {
						fail(w, step, "map: %v", err)
						return
					}
				}
				win := o.r.Bytes()
				off := uint32(rng.IntN(int(o.size)))
				n := min(uint32(1+rng.IntN(len(buf))), o.size-off)
				switch op := rng.IntN(100); {
				case op < 45: // loads, byte by byte: real faults
					for i := uint32(0); i < n; i++ {
						if got := win[off+i]; got != o.model[off+i] {
							fail(w, step, "load at %#x: %#x, model %#x", off+i, got, o.model[off+i])
							return
						}
					}
				case op < 90: // stores: a word loop or copy (runtime.memmove)
					p := buf[:n]
					for i := range p {
						p[i] = byte(rng.Uint32())
					}
					if op < 70 {
						for i := uint32(0); i < n; i++ {
							win[off+i] = p[i]
						}
					} else {
						copy(win[off:off+n], p)
					}
					copy(o.model[off:], p)
				case op < 95: // ReadAt, through the page cache
					p := buf[:n]
					if _, err := o.r.ReadAt(p, int64(off)); err != nil {
						fail(w, step, "ReadAt: %v", err)
						return
					}
					for i := range p {
						if p[i] != o.model[off+uint32(i)] {
							fail(w, step, "ReadAt at %#x: %#x, model %#x", off+uint32(i), p[i], o.model[off+uint32(i)])
							return
						}
					}
				case op < 98:
					pg := off &^ (ps - 1)
					if err := o.r.Sync(pg, min(4*ps, o.size-pg)); err != nil {
						fail(w, step, "sync: %v", err)
						return
					}
				default:
					if err := o.r.Unmap(); err != nil {
						fail(w, step, "unmap: %v", err)
						return
					}
					o.r = nil
				}
				if step%2048 == 0 {
					runtime.GC()
				}
			}
			for i, o := range objs {
				if o.r == nil || failed.Load() {
					continue
				}
				win := o.r.Bytes()
				for j := range o.model {
					if win[j] != o.model[j] {
						fail(w, -1, "final check of object %d at %#x: %#x, model %#x", i, j, win[j], o.model[j])
						return
					}
				}
				if err := o.r.Unmap(); err != nil {
					fail(w, -1, "unmap: %v", err)
				}
			}
		}(w)
	}
	wg.Wait()
	k.Quiesce()
	if first != nil {
		t.Fatal(first)
	}
	if err := k.CheckInvariants(); err != nil {
		t.Fatalf("target stress seed=%d: %v", seed, err)
	}
	s := k.Stats()
	if s.Faults-s.Yields < want {
		t.Fatalf("target stress seed=%d: %d faults resolved, want %d", seed, s.Faults-s.Yields, want)
	}
	t.Logf("target stress seed=%d: %d faults resolved (%d yields), page-ins %d, page-outs %d, evictions %d, refused %d, every byte as the model says",
		seed, s.Faults-s.Yields, s.Yields, s.PageIns, s.PageOuts, s.Evictions, s.Refused)
}
