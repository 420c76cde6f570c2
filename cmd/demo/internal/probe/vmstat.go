package probe

import (
	"fmt"
	"io"

	"github.com/tamach/tamach/vm"
)

// Sample is what one vmstat line is made from.
type Sample struct {
	T       uint64 // ns since the start
	VM      vm.Stats
	PageIn  Counts // round trips so far (ns)
	PageOut Counts // page-out calls so far (ns)
}

// Take samples the kernel and the pager wrapper at time t.
func Take(t uint64, k *vm.Kernel, p *Pager) Sample {
	return Sample{T: t, VM: k.Stats(), PageIn: p.PageIn.Snapshot(), PageOut: p.PageOut.Snapshot()}
}

// Header is the head of the vmstat table: free and resident are frames
// now; faults to evict count what happened in the interval; the round
// trips (data_request to answer, and page-out calls) are in microseconds,
// median and 99th percentile of the interval.
const Header = "    time   free  resid   faults  page-in page-out    evict | in p50    p99 | out p50    p99 (µs)"

// WriteLine writes the vmstat line of the interval from prev to cur.
func WriteLine(w io.Writer, prev, cur *Sample) {
	in := cur.PageIn.Sub(prev.PageIn)
	out := cur.PageOut.Sub(prev.PageOut)
	fmt.Fprintf(w, "%7.1fs %6d %6d %8d %8d %8d %8d | %6s %6s | %7s %6s\n",
		float64(cur.T)/1e9, cur.VM.FreeFrames, cur.VM.Frames-cur.VM.FreeFrames,
		cur.VM.Faults-prev.VM.Faults, cur.VM.PageIns-prev.VM.PageIns,
		cur.VM.PageOuts-prev.VM.PageOuts, cur.VM.Evictions-prev.VM.Evictions,
		Micros(&in, 0.5), Micros(&in, 0.99), Micros(&out, 0.5), Micros(&out, 0.99))
}

// Micros formats the quantile q of c (in ns) in microseconds, or "-" when
// c is empty.
func Micros(c *Counts, q float64) string {
	if c.N() == 0 {
		return "-"
	}
	v := float64(c.Quantile(q)) / 1e3
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	if v < 1000 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}
