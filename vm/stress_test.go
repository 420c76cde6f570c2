package vm

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/inject"
	"github.com/tamach/tamach/pager/rampager"
)

// The stress test: goroutines map, unmap, protect, load, store, read,
// write and sync objects four times larger than the frame pool through the
// software MMU, under forced garbage collections, with pagers that answer
// late, twice and out of order and refuse some page-outs; every byte read
// is checked against a model. A failure names the seed; the same seed,
// given with -stress.seed or TAMACH_SEED, gives the same schedules.

var (
	stressSeed   = flag.Uint64("stress.seed", 0, "seed of the stress test (0: from TAMACH_SEED, else the clock)")
	stressFaults = flag.Uint64("stress.faults", 1_000_000, "faults the host stress test makes at least")
)

// seedFromEnv returns the seed the flag or TAMACH_SEED gives, else one from
// the clock.
func seedFromEnv() uint64 {
	if *stressSeed != 0 {
		return *stressSeed
	}
	if s := os.Getenv("TAMACH_SEED"); s != "" {
		if v, err := strconv.ParseUint(s, 0, 64); err == nil && v != 0 {
			return v
		}
	}
	return uint64(time.Now().UnixNano())
}

type stressConfig struct {
	seed    uint64
	workers int
	frames  int
	faults  uint64 // stop once this many faults were handled
	steps   int    // and at most this many steps per worker
	// corrupt, for the test of the harness itself, flips a byte of the
	// model at that step of worker 0 (0: never).
	corrupt int
}

// stressObject is one object a worker owns, with its model.
type stressObject struct {
	obj   mo.Object // nil: anonymous memory (Allocate)
	size  uint32
	model []byte
	r     *Region // nil while unmapped
	// refuses: the pager refuses some data_returns (Sync may say so)
	refuses bool
}

// runStress runs the stress and returns the first mismatch or error, with
// the seed in its text.
func runStress(t testing.TB, c stressConfig) (faults uint64, err error) {
	const ps = 4 << 10
	e := newEnv(t, envOpt{ps: ps, frames: c.frames, windowMiB: 16})
	var (
		failed   atomic.Bool
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	fail := func(w int, step int, format string, args ...any) {
		errOnce.Do(func() {
			firstErr = fmt.Errorf("stress seed=%d worker %d step %d: %s (rerun with -stress.seed=%d or TAMACH_SEED=%d)",
				c.seed, w, step, fmt.Sprintf(format, args...), c.seed, c.seed)
			failed.Store(true)
		})
	}
	perWorker := uint32(c.frames) * ps // four workers: the objects are 4 times the pool
	for w := 0; w < c.workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(c.seed, uint64(w)))
			objs := stressObjects(t, c.seed, w, perWorker)
			buf := make([]byte, 2*ps)
			for step := 1; step <= c.steps && !failed.Load(); step++ {
				if st := e.k.Stats(); st.Faults-st.Yields >= c.faults {
					break
				}
				if w == 0 && step == c.corrupt {
					objs[0].model[0] ^= 0xff
				}
				if err := stressStep(e, rng, objs, buf, step); err != nil {
					fail(w, step, "%v", err)
					return
				}
				if step%4096 == 0 {
					runtime.GC()
				}
			}
			// Read everything back and unmap it.
			for i, o := range objs {
				if failed.Load() {
					return
				}
				if o.r == nil {
					continue
				}
				got := make([]byte, o.size)
				if _, err := o.r.ReadAt(got, 0); err != nil {
					fail(w, -1, "final read of object %d: %v", i, err)
					return
				}
				if j := firstDiff(got, o.model); j >= 0 {
					fail(w, -1, "final read of object %d: byte %#x is %#x, model %#x", i, j, got[j], o.model[j])
					return
				}
				if err := o.r.Unmap(); err != nil {
					fail(w, -1, "unmap: %v", err)
				}
			}
		}(w)
	}
	wg.Wait()
	e.k.Quiesce()
	if firstErr == nil {
		if err := e.k.CheckInvariants(); err != nil {
			firstErr = fmt.Errorf("stress seed=%d: invariants: %v", c.seed, err)
		}
	}
	st := e.k.Stats()
	t.Logf("stress seed=%d: %+v", c.seed, st)
	// Faults resolved: a yield is a wait, not a fault of its own.
	return st.Faults - st.Yields, firstErr
}

// stressObjects makes a worker's objects: a RAM pager called inline
// (fault-safe), the same wrapped so that its answers come late, twice or
// out of order and some page-outs are refused, and anonymous memory.
func stressObjects(t testing.TB, seed uint64, w int, total uint32) []*stressObject {
	sizes := []uint32{total / 2, total / 4, total / 4}
	var objs []*stressObject
	for i, size := range sizes {
		o := &stressObject{size: size, model: make([]byte, size)}
		switch i {
		case 0:
			rp, err := rampager.New(rampager.Config{Size: mo.Size(size)})
			if err != nil {
				t.Fatal(err)
			}
			o.obj = rp
		case 1:
			rp, err := rampager.New(rampager.Config{Size: mo.Size(size)})
			if err != nil {
				t.Fatal(err)
			}
			s := inject.NewSchedule(seed^uint64(w+1)*0x9e3779b97f4a7c15).
				Rate(inject.Delay, 100000).Rate(inject.Duplicate, 50000).Rate(inject.Reorder, 100000).
				Rate(inject.Error, 50000).Only(mo.OpDataSupply, mo.OpDataUnavailable, mo.OpDataReturn)
			o.obj = inject.Wrap(rp, s)
			o.refuses = true
		}
		objs = append(objs, o)
	}
	return objs
}

// stressStep makes one random operation on one of the objects.
func stressStep(e *testEnv, rng *rand.Rand, objs []*stressObject, buf []byte, step int) error {
	i := rng.IntN(len(objs))
	// Object 1's pager refuses some data_returns: it is not unmapped
	// before the end, because a page-out refused by terminate is dropped
	// (terminate is the last call; docs/failures.md).
	if err := stressOp(e, rng, objs[i], buf, i != 1); err != nil {
		return fmt.Errorf("object %d (%s): %w", i, [...]string{"RAM pager", "RAM pager, injected", "anonymous"}[i], err)
	}
	return nil
}

func stressOp(e *testEnv, rng *rand.Rand, o *stressObject, buf []byte, mayUnmap bool) error {
	const ps = 4 << 10
	if o.r == nil {
		var err error
		if o.obj == nil {
			o.r, err = e.k.Allocate(o.size, MapOptions{})
			clear(o.model) // new anonymous memory reads as zeros
		} else {
			o.r, err = e.k.Map(o.obj, mo.Size(o.size), 0, o.size, MapOptions{})
		}
		if err != nil {
			return fmt.Errorf("map: %w", err)
		}
	}
	r := o.r
	off := uint32(rng.IntN(int(o.size)))
	n := uint32(1 + rng.IntN(64))
	if rng.IntN(8) == 0 {
		off &^= ps - 1
		n = ps + uint32(rng.IntN(ps))
	}
	n = min(n, o.size-off)
	p := buf[:n]
	switch op := rng.IntN(100); {
	case op < 40: // load through the MMU
		if err := e.load(r.Addr()+off, p); err != nil {
			return fmt.Errorf("load %#x+%d: %w", off, n, err)
		}
		if j := firstDiff(p, o.model[off:off+n]); j >= 0 {
			return fmt.Errorf("load at %#x: %#x, model %#x", off+uint32(j), p[j], o.model[off+uint32(j)])
		}
	case op < 80: // store through the MMU
		fillRandom(rng, p)
		if err := e.store(r.Addr()+off, p); err != nil {
			return fmt.Errorf("store %#x+%d: %w", off, n, err)
		}
		copy(o.model[off:], p)
	case op < 88: // ReadAt
		if _, err := r.ReadAt(p, int64(off)); err != nil {
			return fmt.Errorf("ReadAt %#x+%d: %w", off, n, err)
		}
		if j := firstDiff(p, o.model[off:off+n]); j >= 0 {
			return fmt.Errorf("ReadAt at %#x: %#x, model %#x", off+uint32(j), p[j], o.model[off+uint32(j)])
		}
	case op < 94: // WriteAt
		fillRandom(rng, p)
		if _, err := r.WriteAt(p, int64(off)); err != nil {
			return fmt.Errorf("WriteAt %#x+%d: %w", off, n, err)
		}
		copy(o.model[off:], p)
	case op < 96: // protect read-only: a store faults, a load does not
		// (the whole region, so that entries are not split for good)
		pg := off &^ (ps - 1)
		if err := r.Protect(0, o.size, mo.ProtRead); err != nil {
			return fmt.Errorf("protect: %w", err)
		}
		var fe *faultError
		if err := e.store(r.Addr()+pg, buf[:1]); !errors.As(err, &fe) || fe.rep.Reason != ReasonProtection {
			return fmt.Errorf("store to a read-only page: %v, want a protection fault", err)
		}
		if err := e.load(r.Addr()+pg, buf[:1]); err != nil || buf[0] != o.model[pg] {
			return fmt.Errorf("load from a read-only page: %v (%#x, model %#x)", err, buf[0], o.model[pg])
		}
		if err := r.Protect(0, o.size, mo.ProtRead|mo.ProtWrite); err != nil {
			return fmt.Errorf("protect: %w", err)
		}
	case op < 98: // sync
		pg := off &^ (ps - 1)
		// The injected pager refuses some data_returns: Sync says so and
		// the page stays dirty (the model still holds).
		var refused *PageOutError
		if err := r.Sync(pg, min(4*ps, o.size-pg)); err != nil && !(errors.As(err, &refused) && o.refuses) {
			return fmt.Errorf("sync: %w", err)
		}
	default: // unmap; the next step on the object maps it again
		if !mayUnmap {
			break
		}
		if err := r.Unmap(); err != nil {
			return fmt.Errorf("unmap: %w", err)
		}
		o.r = nil
	}
	return nil
}

func fillRandom(rng *rand.Rand, p []byte) {
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// TestStress runs the stress until at least -stress.faults faults
// (1,000,000 unless told; -short: 50,000).
func TestStress(t *testing.T) {
	want := *stressFaults
	if runtime.GOOS == "tamago" {
		// In QEMU the software MMU is slow; TestTargetStress makes the
		// target's faults with the real MMU.
		want = min(want, 20_000)
	}
	if testing.Short() {
		want = min(want, 50_000)
	}
	c := stressConfig{seed: seedFromEnv(), workers: 4, frames: 64, faults: want, steps: 1 << 30}
	t.Logf("stress seed=%d (rerun with -stress.seed=%d or TAMACH_SEED=%d)", c.seed, c.seed, c.seed)
	faults, err := runStress(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if faults < want {
		t.Fatalf("stress seed=%d: %d faults, want at least %d", c.seed, faults, want)
	}
	t.Logf("stress seed=%d: %d faults, every byte as the model says", c.seed, faults)
}

// TestStressFailurePrintsSeedAndReproduces: a corrupted model makes the
// harness fail with a message that names the seed, and the same seed
// fails the same way.
func TestStressFailurePrintsSeedAndReproduces(t *testing.T) {
	c := stressConfig{seed: 12345, workers: 1, frames: 16, faults: 1 << 62, steps: 3000, corrupt: 1}
	_, err1 := runStress(t, c)
	if err1 == nil || !strings.Contains(err1.Error(), "seed=12345") || !strings.Contains(err1.Error(), "-stress.seed=12345") {
		t.Fatalf("a corrupted model gave %v; want a failure naming the seed", err1)
	}
	_, err2 := runStress(t, c)
	if err2 == nil || err2.Error() != err1.Error() {
		t.Fatalf("the same seed gave\n%v\nthen\n%v", err1, err2)
	}
	t.Logf("failure reproduced: %v", err1)
}
