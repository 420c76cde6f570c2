package defaultpager

import (
	"bytes"
	"fmt"
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

// BenchmarkPageRuns is page-out and page-in per page with calls of 1 or
// 4 neighbouring pages (one store call for the 4 on a store.RunStore),
// on the RAM and Device stores: op i makes the call for pages i..i+n-1
// when i is a multiple of n, so x-copy is per page.
func BenchmarkPageRuns(b *testing.B) {
	for _, kind := range []string{"RAM", "Device"} {
		for _, n := range []int{1, 4} {
			data := bytes.Repeat(fill(1), n)
			b.Run(fmt.Sprintf("%s/out/pages=%d", kind, n), func(b *testing.B) {
				p, _ := newPager(b, Config{}, kind, benchPages)
				a := newAnon(b, p, benchPages*ps)
				benchRatio(b, func(i int) {
					if i%n == 0 {
						if err := a.put(i%benchPages, data); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			b.Run(fmt.Sprintf("%s/in/pages=%d", kind, n), func(b *testing.B) {
				p, _ := newPager(b, Config{}, kind, benchPages)
				a := newAnon(b, p, benchPages*ps)
				for i := 0; i < benchPages; i += n {
					a.put(i, data)
				}
				benchRatio(b, func(i int) {
					if i%n == 0 {
						s := a.s
						a.s++
						if err := a.obj.DataRequest(s, a.ctl, mo.Offset(i%benchPages*ps), mo.Size(n*ps), mo.ProtRead); err != nil {
							b.Fatal(err)
						}
					}
				})
				if a.ctl.Unavailable != 0 || a.ctl.Errors != 0 {
					b.Fatalf("%d unavailable, %d errors", a.ctl.Unavailable, a.ctl.Errors)
				}
			})
		}
	}
}
