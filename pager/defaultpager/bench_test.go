package defaultpager

import (
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
)

// benchRatio runs op b.N times and reports its time as a ratio to a raw
// 4 KiB copy measured in the same run ("x-copy"), taking the better of
// two copy runs, one on each side of the measured loop.
func benchRatio(b *testing.B, op func(i int)) {
	src, dst := make([]byte, ps), make([]byte, ps)
	copies := func() time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			copy(dst, src)
		}
		return time.Since(start)
	}
	base := copies()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op(i)
	}
	b.StopTimer()
	base = max(min(base, copies()), 1)
	b.ReportMetric(float64(b.Elapsed())/float64(base), "x-copy")
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "copy-ns/op")
}

const benchPages = 256

// BenchmarkPageOut is one 4 KiB data_return into a store, per store kind.
func BenchmarkPageOut(b *testing.B) {
	for _, kind := range storeKinds {
		b.Run(kind, func(b *testing.B) {
			p, _ := newPager(b, Config{}, kind, benchPages)
			a := newAnon(b, p, benchPages*ps)
			data := fill(1)
			benchRatio(b, func(i int) {
				if err := a.put(i%benchPages, data); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkPageIn is one 4 KiB data_request answered with data_supply
// inside the call, per store kind.
func BenchmarkPageIn(b *testing.B) {
	for _, kind := range storeKinds {
		b.Run(kind, func(b *testing.B) {
			p, _ := newPager(b, Config{}, kind, benchPages)
			a := newAnon(b, p, benchPages*ps)
			for i := 0; i < benchPages; i++ {
				a.put(i, fill(byte(i)))
			}
			benchRatio(b, func(i int) {
				s := a.s
				a.s++
				if err := a.obj.DataRequest(s, a.ctl, mo.Offset(i%benchPages*ps), ps, mo.ProtRead); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
