//go:build tamago

package main

import (
	"bytes"
	"flag"
	"fmt"
	"time"

	"github.com/tamach/tamach/pager/nbd"
)

// runRTT times NBD requests from the guest without vm: n page writes
// (with FUA), then n page reads, each read checked.
func runRTT(args []string) error {
	fs := flag.NewFlagSet("rtt", flag.ContinueOnError)
	server, export := nbdFlags(fs)
	n := fs.Int("n", 200, "requests of each kind")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, c, _, err := connectNBD(*server, *export, nbd.Config{})
	if err != nil {
		return err
	}
	defer st.Close()
	defer c.Close()
	if uint64(*n) > c.Pages() {
		return fmt.Errorf("the export has %d pages, fewer than -n", c.Pages())
	}
	page, got := make([]byte, 4096), make([]byte, 4096)
	fill := func(i int) { copy(page, bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x3c, 0xc3}, 1024)) }
	n0, t0 := st.Stats(), time.Now()
	for i := 0; i < *n; i++ {
		fill(i)
		if err := c.WritePage(uint64(i), page); err != nil {
			return err
		}
	}
	w, n1 := time.Since(t0), st.Stats()
	t1 := time.Now()
	for i := 0; i < *n; i++ {
		if err := c.ReadPage(uint64(i), got); err != nil {
			return err
		}
		fill(i)
		if !bytes.Equal(got, page) {
			return fmt.Errorf("page %d read back wrong", i)
		}
	}
	r, n2 := time.Since(t1), st.Stats()
	share := func(a, b netstackStats, d time.Duration) float64 {
		return 100 * float64(b.RxTime-a.RxTime+b.TxTime-a.TxTime) / float64(d)
	}
	fmt.Printf("rtt: NBD write %v per page (stack %.1f%%), read %v per page (stack %.1f%%), connect %v\n",
		(w / time.Duration(*n)).Round(time.Microsecond), share(n0, n1, w),
		(r / time.Duration(*n)).Round(time.Microsecond), share(n1, n2, r), n0.DialTime.Round(time.Microsecond))
	return nil
}
