//go:build tamago

package main

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/mo/moremote"
	"github.com/tamach/tamach/vm"
)

// Layout of the shared object, as pager/coherence's test has it:
// Peterson's lock in the first granule, the counters in the second and
// fourth (with the default 64 KiB granules).
const (
	sharedSize = 256 << 10
	offFlag0   = 0
	offFlag1   = 4
	offTurn    = 8
	offReady0  = 12 // each kernel's "here" word: they count together
	offReady1  = 16
	offCounter = 64 << 10
	offOther   = 192<<10 + 4092
)

// runCount maps the coherence pager's object and counts under the lock.
func runCount(args []string) error {
	fs := flag.NewFlagSet("count", flag.ContinueOnError)
	server := fs.String("server", "10.0.2.100:7070", "the coherence pager (cmd/coherence)")
	id := fs.Int("id", -1, "this kernel's number in Peterson's lock: 0 or 1")
	rounds := fs.Uint("rounds", 50, "how many times to add to the counters")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *id != 0 && *id != 1 {
		return errors.New("-id must be 0 or 1")
	}
	st, addr, err := startNetworkTo(*server)
	if err != nil {
		return err
	}
	defer st.Close()
	conn, err := dialFirst(st, addr, 30*time.Second)
	if err != nil {
		return fmt.Errorf("connecting to %v: %w", addr, err)
	}
	cl := moremote.NewClient(conn)
	defer cl.Close()
	fmt.Printf("count: kernel %d connected to %v in %v\n", *id, addr, st.Stats().DialTime.Round(time.Microsecond))
	l := layout
	tg, err := vm.NewTarget(l, vm.TargetConfig{
		PageSize: 4096,
		Frames:   board.Region{Start: l.FramePool.Start, Size: 2 << 20},
		Window:   board.Region{Start: l.Window.Start, Size: 16 << 20},
	})
	if err != nil {
		return err
	}
	r, err := tg.Kernel.Map(cl.Object(1), sharedSize, 0, sharedSize, vm.MapOptions{})
	if err != nil {
		return fmt.Errorf("mapping the shared object: %w", err)
	}
	mem := r.Bytes()
	w := func(off uintptr) *uint32 { return wordAt(mem, off) }
	lock := peterson{flag: [2]*uint32{w(offFlag0), w(offFlag1)}, turn: w(offTurn)}
	counter, other := w(offCounter), w(offOther)
	// Meet the other kernel first, so that the two count at the same
	// time and the granules move between them.
	ready := [2]*uint32{w(offReady0), w(offReady1)}
	atomic.StoreUint32(ready[*id], 1)
	deadline := time.Now().Add(time.Minute)
	for atomic.LoadUint32(ready[1-*id]) == 0 {
		if time.Now().After(deadline) {
			return errors.New("the other kernel did not come within a minute")
		}
		runtime.Gosched()
	}
	t0 := time.Now()
	for n := uint(0); n < *rounds; n++ {
		if err := lock.lock(*id, time.Minute); err != nil {
			return err
		}
		atomic.StoreUint32(counter, atomic.LoadUint32(counter)+1)
		atomic.StoreUint32(other, atomic.LoadUint32(other)+uint32(*id+1))
		lock.unlock(*id)
	}
	d := time.Since(t0)
	c, o := atomic.LoadUint32(counter), atomic.LoadUint32(other)
	if err := r.Sync(0, sharedSize); err != nil {
		return fmt.Errorf("synchronize: %w", err)
	}
	s := tg.Kernel.Stats()
	fmt.Printf("count: kernel %d: %d rounds in %v; faults %d, page-ins %d, page-outs %d; counters now %d and %d\n",
		*id, *rounds, d.Round(time.Millisecond), s.Faults, s.PageIns, s.PageOuts, c, o)
	if err := tg.Kernel.CheckInvariants(); err != nil {
		return fmt.Errorf("kernel invariants: %v", err)
	}
	fmt.Printf("count: kernel %d done\n", *id)
	return nil
}

// peterson is Peterson's lock for two kernels over words of the shared
// object. Each load and store is one 32-bit access of mapped memory
// (sync/atomic: LDR or STR between barriers, and never cached in a
// register); single-writer/multi-reader coherence makes them sequentially
// consistent across the two machines: a store completes only once no
// other kernel holds a copy of its granule.
type peterson struct {
	flag [2]*uint32
	turn *uint32
}

func (l *peterson) lock(i int, limit time.Duration) error {
	j := 1 - i
	atomic.StoreUint32(l.flag[i], 1)
	atomic.StoreUint32(l.turn, uint32(j))
	deadline := time.Now().Add(limit)
	for atomic.LoadUint32(l.flag[j]) == 1 && atomic.LoadUint32(l.turn) == uint32(j) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the lock was not taken in %v", limit)
		}
		runtime.Gosched()
	}
	return nil
}

func (l *peterson) unlock(i int) { atomic.StoreUint32(l.flag[i], 0) }
