//go:build tamago

// Command demo is the tamach demonstration image. It boots on a board,
// makes a vm kernel over part of the board's frame pool with the default
// pager as the pager of its anonymous memory, backed by a RAM store over
// the board's store region, and then sorts records several times the size
// of the kernel's frames in anonymous memory, verifying the result. While
// it runs it prints a vmstat line at a steady interval; at the end, the
// default pager's objects and where their pages are (object_pages), and
// whether the result is right: the exit status is 0 only then.
//
// With -shell, a console on the serial port follows a smaller run (see
// package shell for its commands). On the USB armory, which has no host
// to return a status to, the console always follows the demo.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/cmd/demo/internal/probe"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/defaultpager"
	"github.com/tamach/tamach/pager/store"
	"github.com/tamach/tamach/vm"
)

func main() {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	shell := fs.Bool("shell", false, "start the console on the serial port after the run")
	recordsMiB := fs.Uint("records", 0, "MiB of records to sort (default 32, 4 with -shell)")
	framesMiB := fs.Uint("frames", 4, "MiB of the frame pool the kernel takes")
	rounds := fs.Uint("rounds", 3, "how many times to generate, sort and verify")
	interval := fs.Duration("interval", time.Second, "time between vmstat lines")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	*shell = *shell || shellAlways
	if *recordsMiB == 0 {
		*recordsMiB = 32
		if *shell {
			*recordsMiB, *rounds = 4, 1
		}
	}
	fmt.Println("tamach demo")
	layout.Print(os.Stdout)
	if err := layout.Check(); err != nil {
		fmt.Println("layout:", err)
		os.Exit(1)
	}
	d, err := newDemo(layout, uint32(*framesMiB), 64)
	if err != nil {
		fmt.Println("demo:", err)
		os.Exit(1)
	}
	ok := d.run(uint32(*recordsMiB)<<20, int(*rounds), *interval)
	if *shell {
		// A region the run never touched, so that touch shows a fault
		// that brings a page in: zero-filled by the kernel, without a
		// call, since the default pager never had the page.
		r, err := d.target.Kernel.Allocate(64<<10, vm.MapOptions{})
		if err != nil {
			fmt.Println("allocate:", err)
			os.Exit(1)
		}
		d.regions = append(d.regions, r)
		fmt.Printf("scratch: 64 KiB of anonymous memory at %#08x, not touched yet\n", r.Addr())
		d.console()
	}
	if !ok {
		os.Exit(1)
	}
}

// demo is the running system: the kernel, the default pager and its
// store, the timing wrapper and the trace.
type demo struct {
	layout  board.Layout
	target  *vm.Target
	pager   *defaultpager.Pager
	probe   *probe.Pager
	trace   *mo.Trace
	store   mo.BackingStoreID
	regions []*vm.Region
	window  board.Region
	start   time.Time
}

func newDemo(l board.Layout, framesMiB, windowMiB uint32) (*demo, error) {
	d := &demo{layout: l, trace: mo.NewTrace(1024), start: time.Now()}
	st, err := store.NewRAM(regionBytes(l.Store), 4096)
	if err != nil {
		return nil, err
	}
	if d.pager, err = defaultpager.New(defaultpager.Config{}); err != nil {
		return nil, err
	}
	if d.store, err = d.pager.BackingStoreCreate(0, 0); err != nil {
		return nil, err
	}
	if err := d.pager.AddSegment(d.store, st); err != nil {
		return nil, err
	}
	d.probe = &probe.Pager{Inner: d.pager, Now: d.now}
	d.window = board.Region{Start: l.Window.Start, Size: windowMiB << 20}
	d.target, err = vm.NewTarget(l, vm.TargetConfig{
		PageSize:     4096,
		Frames:       board.Region{Start: l.FramePool.Start, Size: framesMiB << 20},
		Window:       d.window,
		DefaultPager: d.probe,
		Trace:        d.trace,
	})
	if err != nil {
		return nil, err
	}
	s := d.target.Kernel.Stats()
	fmt.Printf("kernel: %d frames of 4 KiB (%d MiB of the pool), window %v\n", s.Frames, framesMiB, d.window)
	fmt.Printf("default pager: RAM store %d over %v, %d slots\n", d.store, l.Store, st.Pages())
	return d, nil
}

func (d *demo) now() uint64 { return uint64(time.Since(d.start)) }

// run allocates the records, then generates, sorts and verifies them
// rounds times while a goroutine prints vmstat lines; it prints the
// object table and the verdict and reports whether every round was right.
func (d *demo) run(size uint32, rounds int, interval time.Duration) bool {
	k := d.target.Kernel
	r, err := k.Allocate(size, vm.MapOptions{})
	if err != nil {
		fmt.Println("allocate:", err)
		return false
	}
	d.regions = append(d.regions, r)
	recs := records(r.Bytes())
	frames := k.Stats().Frames
	fmt.Printf("workload: %d records of 16 bytes (%d MiB, %.1f times the kernel's frames) in anonymous memory at %#x; rounds of generate, sort, verify: %d\n",
		len(recs), size>>20, float64(size)/float64(frames*4096), r.Addr(), rounds)

	stop, stopped := make(chan struct{}), make(chan struct{})
	go d.vmstat(interval, stop, stopped)
	pause := runtime.Gosched
	seen := make([]uint64, (len(recs)+63)/64)
	var verr error
	for round := 0; round < rounds && verr == nil; round++ {
		t0 := time.Now()
		generate(recs, uint64(round), pause)
		t1 := time.Now()
		sortRecords(recs, pause)
		t2 := time.Now()
		verr = verify(recs, seen, pause)
		fmt.Printf("round %d: generate %v, sort %v, verify %v\n", round+1,
			t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
	}
	close(stop)
	<-stopped
	fmt.Println()
	d.objectTable(os.Stdout)
	s := k.Stats()
	fmt.Printf("\ntotals: faults %d, page-ins %d, page-outs %d, evictions %d (clean drops %d), yields %d, refused %d\n",
		s.Faults, s.PageIns, s.PageOuts, s.Evictions, s.CleanDrops, s.Yields, s.Refused)
	in, out := d.probe.PageIn.Snapshot(), d.probe.PageOut.Snapshot()
	fmt.Printf("pager round trip (data_request to answer): %d, median %s µs, 99th percentile %s µs; page-out calls: %d, median %s µs, 99th percentile %s µs\n",
		in.N(), probe.Micros(&in, 0.5), probe.Micros(&in, 0.99), out.N(), probe.Micros(&out, 0.5), probe.Micros(&out, 0.99))
	if err := k.CheckInvariants(); err != nil && verr == nil {
		verr = fmt.Errorf("kernel invariants: %v", err)
	}
	if err := d.pager.CheckInvariants(); err != nil && verr == nil {
		verr = fmt.Errorf("default pager invariants: %v", err)
	}
	if verr != nil {
		fmt.Println("verification FAILED:", verr)
		return false
	}
	if s.PageOuts == 0 {
		fmt.Println("verification FAILED: nothing was paged out")
		return false
	}
	fmt.Printf("verification passed: %d records, rounds: %d; every record present once with its key, in key order\n", len(recs), rounds)
	return true
}

// vmstat prints a line every interval until stop is closed, and a last
// one then.
func (d *demo) vmstat(interval time.Duration, stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	fmt.Println(probe.Header)
	prev := probe.Take(d.now(), d.target.Kernel, d.probe)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			cur := probe.Take(d.now(), d.target.Kernel, d.probe)
			probe.WriteLine(os.Stdout, &prev, &cur)
			return
		case <-t.C:
			cur := probe.Take(d.now(), d.target.Kernel, d.probe)
			probe.WriteLine(os.Stdout, &prev, &cur)
			prev = cur
		}
	}
}
