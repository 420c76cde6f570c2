//go:build tamago

package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"time"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/netstack"
	"github.com/tamach/tamach/pager/defaultpager"
	"github.com/tamach/tamach/pager/nbd"
	"github.com/tamach/tamach/vm"
)

// nbdFlags adds the NBD server's -server and -export flags to fs.
func nbdFlags(fs *flag.FlagSet) (server, export *string) {
	return fs.String("server", "10.0.2.100:10809", "the NBD server"), fs.String("export", "tamach", "the export's name")
}

// connectNBD starts the network and connects an NBD client of cfg (its
// Dial and Export set here) to export at server. On error nothing is left
// running.
func connectNBD(server, export string, cfg nbd.Config) (*netstack.Stack, *nbd.Client, netip.AddrPort, error) {
	st, addr, err := startNetworkTo(server)
	if err != nil {
		return nil, nil, addr, err
	}
	cfg.Dial, cfg.Export = st.Dialer(addr), export
	c, err := nbd.New(cfg)
	if err != nil {
		st.Close()
		return nil, nil, addr, fmt.Errorf("connecting to %v: %w", addr, err)
	}
	return st, c, addr, nil
}

// runNBD pages anonymous memory to an NBD server and verifies every word.
func runNBD(args []string) error {
	fs := flag.NewFlagSet("nbd", flag.ContinueOnError)
	server, export := nbdFlags(fs)
	framesMiB := fs.Uint("frames", 2, "MiB of the frame pool the kernel takes")
	times := fs.Uint("times", 4, "size of the anonymous memory, in times the kernel's frames")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t0 := time.Now()
	st, client, addr, err := connectNBD(*server, *export, nbd.Config{RetryFor: time.Minute,
		Event: func(e nbd.Event) { fmt.Printf("nbd: connection %v at %v\n", e, time.Since(t0).Round(time.Millisecond)) }})
	if err != nil {
		return err
	}
	defer st.Close()
	defer client.Close()
	ns := st.Stats()
	fmt.Printf("nbd: export %q of %d pages at %v, connected in %v (TCP connect %v)\n", *export, client.Pages(), addr,
		time.Since(t0).Round(time.Microsecond), ns.DialTime.Round(time.Microsecond))

	dp, err := defaultpager.NewOver(defaultpager.Config{}, client)
	if err != nil {
		return err
	}
	l := layout
	tg, err := vm.NewTarget(l, vm.TargetConfig{
		PageSize:     4096,
		Frames:       board.Region{Start: l.FramePool.Start, Size: uint32(*framesMiB) << 20},
		Window:       board.Region{Start: l.Window.Start, Size: 64 << 20},
		DefaultPager: dp,
	})
	if err != nil {
		return err
	}
	k := tg.Kernel
	frames := k.Stats().Frames
	size := uint32(*times) * uint32(frames) * 4096
	if uint64(size/4096) > client.Pages() {
		return fmt.Errorf("the export has %d pages, the run needs %d", client.Pages(), size/4096)
	}
	r, err := k.Allocate(size, vm.MapOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("nbd: %d KiB of anonymous memory, %d times the kernel's %d frames\n", size>>10, *times, frames)
	mem := r.Bytes()
	pages := size / 4096

	var netTime time.Duration
	// measure runs one pass and prints its page-ins, page-outs, time
	// per page and the share of the time spent in the network stack.
	measure := func(name string, f func() error) error {
		s0, n0, t := k.Stats(), st.Stats(), time.Now()
		err := f()
		d, s1, n1 := time.Since(t), k.Stats(), st.Stats()
		inStack := n1.RxTime - n0.RxTime + n1.TxTime - n0.TxTime
		netTime += inStack
		fmt.Printf("nbd: %s: %d pages in %v, %v per page; page-ins %d, page-outs %d; network stack %.1f%% of the time\n",
			name, pages, d.Round(time.Millisecond), (d / time.Duration(pages)).Round(100*time.Nanosecond),
			s1.PageIns-s0.PageIns, s1.PageOuts-s0.PageOuts, 100*float64(inStack)/float64(d))
		return err
	}
	start := time.Now()
	for round := uint32(1); round <= 2; round++ {
		mid := pages / 2
		if round == 1 {
			mid = pages + 1 // no midpoint
		}
		if err := measure(fmt.Sprintf("round %d write", round), func() error { writePages(mem, round, mid); return nil }); err != nil {
			return err
		}
		if err := measure(fmt.Sprintf("round %d verify", round), func() error { return verifyPages(mem, round) }); err != nil {
			return err
		}
	}
	total := time.Since(start)
	s, cs, ns := k.Stats(), client.Stats(), st.Stats()
	fmt.Printf("nbd: totals: faults %d, page-ins %d, page-outs %d, evictions %d\n", s.Faults, s.PageIns, s.PageOuts, s.Evictions)
	fmt.Printf("nbd: client: reads %d, writes %d, lost connections %d, retries %d, reconnects %d, failed dials %d\n",
		cs.Reads, cs.Writes, cs.Lost, cs.Retries, cs.Reconnects, cs.DialFailures)
	fmt.Printf("nbd: network: %d dials, %v per dial; frames in %d, out %d; stack %v of %v (%.1f%%)\n",
		ns.Dials, (ns.DialTime / time.Duration(max(ns.Dials, 1))).Round(time.Microsecond), ns.Link.FramesIn, ns.Link.FramesOut,
		netTime.Round(time.Millisecond), total.Round(time.Millisecond), 100*float64(netTime)/float64(total))
	if err := k.CheckInvariants(); err != nil {
		return fmt.Errorf("kernel invariants: %v", err)
	}
	if err := dp.CheckInvariants(); err != nil {
		return fmt.Errorf("default pager invariants: %v", err)
	}
	if s.PageOuts < uint64(pages) || s.PageIns == 0 {
		return fmt.Errorf("%d page-outs and %d page-ins for %d pages: the memory was not paged", s.PageOuts, s.PageIns, pages)
	}
	fmt.Printf("nbd: verification passed: %d pages, every word of two rounds right\n", pages)
	return nil
}

// word is the value of the 32-bit word at off in round.
func word(off, round uint32) uint32 { return (off+round*0x9e3779b9)*2654435761 ^ round<<28 }

// writePages writes every word of mem for round, page by page, printing
// "nbd: midpoint" before page mid.
func writePages(mem []byte, round, mid uint32) {
	for p := uint32(0); p < uint32(len(mem))/4096; p++ {
		if p == mid {
			fmt.Println("nbd: midpoint")
		}
		pg := mem[p*4096 : (p+1)*4096]
		for i := uint32(0); i < 4096; i += 4 {
			binary.LittleEndian.PutUint32(pg[i:], word(p*4096+i, round))
		}
	}
}

// verifyPages checks every word of mem for round.
func verifyPages(mem []byte, round uint32) error {
	for off := uint32(0); off < uint32(len(mem)); off += 4 {
		if got, want := binary.LittleEndian.Uint32(mem[off:]), word(off, round); got != want {
			return fmt.Errorf("round %d: word at %#x is %#08x, want %#08x", round, off, got, want)
		}
	}
	return nil
}
