// Package probe measures the demo's pager round trips without allocating:
// a log-linear histogram of durations, and a wrapper around a default
// pager that times every data_request until its answer reaches the kernel
// and every page-out call (data_return, data_initialize).
package probe

import (
	"math/bits"
	"sync/atomic"
)

// Buckets of a Histogram: values below 16 have a bucket each; above, each
// power of two is split into 8 buckets, so a quantile is within 12.5%.
const (
	linear     = 16
	subBuckets = 8
	numBuckets = linear + (64-4)*subBuckets
)

// Histogram counts durations (any unit, usually nanoseconds) in log-linear
// buckets. Record allocates nothing and is safe for concurrent use.
type Histogram struct {
	b [numBuckets]atomic.Uint64
}

// Counts is a snapshot of a Histogram, which can be subtracted from a
// later one to get the values recorded in between.
type Counts [numBuckets]uint64

func bucket(v uint64) int {
	if v < linear {
		return int(v)
	}
	e := bits.Len64(v) - 1 // >= 4
	sub := int(v>>(e-3)) & (subBuckets - 1)
	return linear + (e-4)*subBuckets + sub
}

// bounds returns the smallest value of bucket i and the bucket's width.
func bounds(i int) (lo, width uint64) {
	if i < linear {
		return uint64(i), 1
	}
	e := (i-linear)/subBuckets + 4
	sub := uint64((i - linear) % subBuckets)
	width = 1 << (e - 3)
	return 1<<e + sub*width, width
}

// Record counts one value.
func (h *Histogram) Record(v uint64) { h.b[bucket(v)].Add(1) }

// Snapshot returns the current counts.
func (h *Histogram) Snapshot() Counts {
	var c Counts
	for i := range h.b {
		c[i] = h.b[i].Load()
	}
	return c
}

// Sub returns the counts recorded since the snapshot old.
func (c Counts) Sub(old Counts) Counts {
	for i := range c {
		c[i] -= old[i]
	}
	return c
}

// N returns the number of values counted.
func (c *Counts) N() uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// Quantile returns the value below which a fraction q (0 to 1) of the
// counted values lie, as the middle of its bucket; 0 when nothing was
// counted.
func (c *Counts) Quantile(q float64) uint64 {
	n := c.N()
	if n == 0 {
		return 0
	}
	// The rank of the value wanted, 1-based: the median of 4 values is
	// the 2nd, the 99th percentile of 10 the 10th.
	rank := uint64(q*float64(n) + 0.999999)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, v := range c {
		seen += v
		if seen >= rank {
			lo, w := bounds(i)
			return lo + w/2
		}
	}
	return 0
}
