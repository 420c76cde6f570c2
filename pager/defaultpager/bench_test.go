package defaultpager

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// benchRatio reports op's time as a ratio to a 4 KiB copy in the same
// run (motest.BenchmarkCopyRatio).
func benchRatio(b *testing.B, op func(i int)) { motest.BenchmarkCopyRatio(b, ps, op) }

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
