package mo_test

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// benchControl is a Control the registry only compares.
type benchControl struct{ mo.Control }

// BenchmarkKernelsEnterLeave: the registry's share of every call on the
// data path, the cached kernel's lookup and its turn, as a ratio to a 4 KiB
// copy; Switch alternates two kernels, so every lookup scans.
func BenchmarkKernelsEnterLeave(b *testing.B) {
	for _, c := range []struct {
		name    string
		kernels int
	}{{"Cached", 1}, {"Switch", 2}} {
		b.Run(c.name, func(b *testing.B) {
			var r mo.Kernels[struct{}]
			ctls := make([]mo.Control, c.kernels)
			for i := range ctls {
				ctls[i] = &benchControl{}
				if _, err := r.Init(0, ctls[i], 4096, func(mo.Size) (struct{}, error) { return struct{}{}, nil }); err != nil {
					b.Fatal(err)
				}
			}
			motest.BenchmarkCopyRatio(b, 4096, func(i int) {
				s := mo.Seqno(i/len(ctls) + 1)
				k, err := r.Enter(s, ctls[i%len(ctls)])
				if err != nil {
					b.Fatal(err)
				}
				k.Leave(s)
			})
		})
	}
}
