package defaultpager

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/vm"
	"github.com/tamach/tamach/vm/vmtest"
)

// newKernel is a host vm kernel with dp as its default pager.
func newKernel(t testing.TB, frames int, dp mo.DefaultPager) *vm.Kernel {
	return vmtest.NewKernel(t, vmtest.Config{PageSize: ps, Frames: frames, DefaultPager: dp})
}

func vmPattern(off int, round byte) byte { return byte(off>>12)*11 ^ byte(off) ^ round }

// TestVMAnonymousMemoryFourTimesThePool: vm with this pager as its default
// pager allocates anonymous memory four times its frame pool, writes every
// byte through Region.WriteAt and reads every byte back with ReadAt, in
// two orders, on every store and in both modes.
func TestVMAnonymousMemoryFourTimesThePool(t *testing.T) {
	const frames = 64
	const size = 4 * frames * ps
	forEachMode(t, func(t *testing.T, kind string, async bool) {
		p, _ := newPager(t, Config{Async: async}, kind, size/ps+16)
		k := newKernel(t, frames, p)
		r, err := k.Allocate(size, vm.MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500) // not a page: writes straddle pages
		for off := 0; off < size; off += len(buf) {
			n := min(len(buf), size-off)
			for i := range buf[:n] {
				buf[i] = vmPattern(off+i, 1)
			}
			if _, err := r.WriteAt(buf[:n], int64(off)); err != nil {
				t.Fatalf("write at %#x: %v", off, err)
			}
		}
		page := make([]byte, ps)
		verify := func(pg int) {
			if _, err := r.ReadAt(page, int64(pg*ps)); err != nil {
				t.Fatalf("read page %d: %v", pg, err)
			}
			for i, b := range page {
				if want := vmPattern(pg*ps+i, 1); b != want {
					t.Fatalf("byte %#x: %#x, want %#x", pg*ps+i, b, want)
				}
			}
		}
		for pg := 0; pg < size/ps; pg++ {
			verify(pg)
		}
		for pg := size/ps - 1; pg >= 0; pg -= 2 {
			verify(pg)
		}
		if err := k.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		vs, st := k.Stats(), p.Stats()
		if vs.PageOuts < 3*frames || st.PageOuts < 3*frames || st.PageIns < 3*frames {
			t.Fatalf("vm %+v, pager %+v: too few page-outs and page-ins for 4x the pool", vs, st)
		}
		checkInv(t, p)
		if err := r.Unmap(); err != nil {
			t.Fatal(err)
		}
		k.Quiesce()
		p.Quiesce()
		if len(p.Objects()) != 0 || p.Info().FreeSpace != p.Info().TotalSpace {
			t.Fatalf("after unmap: objects %+v, info %+v", p.Objects(), p.Info())
		}
		t.Logf("vm page-ins %d page-outs %d evictions %d; pager page-ins %d page-outs %d",
			vs.PageIns, vs.PageOuts, vs.Evictions, st.PageIns, st.PageOuts)
	})
}
