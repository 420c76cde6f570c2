package defaultpager

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
	"github.com/tamach/tamach/vm"
)

// newKernel builds a vm kernel from its public API: FakeMem page tables,
// a recording MMU, a byte slice as the frame pool, dp as its default
// pager, and its pageout goroutine.
func newKernel(t testing.TB, frames int, dp mo.DefaultPager) *vm.Kernel {
	t.Helper()
	const window, frameBase = 0x40000000, 0x90000000
	fm, err := pmap.NewFakeMem(0x80004000, 0x81000000, 16)
	if err != nil {
		t.Fatal(err)
	}
	fm.FlatMap(0x80000000, 0x80400000, 0xa0000000)
	size := uint32(frames * ps)
	pm, err := pmap.New(pmap.Config{Base: window, Size: 16 << 20,
		Phys: []pmap.Range{{Start: frameBase, Size: size}}, Mem: fm, Alloc: fm, MMU: pmap.NewRecordingMMU(0)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := vm.New(vm.Config{PageSize: ps, Pmap: pm, FrameBase: frameBase, FrameSize: size,
		Mem: &vm.SliceMem{Base: frameBase, Mem: make([]byte, size)}, DefaultPager: dp})
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { k.Pageout(stop); close(done) }()
	t.Cleanup(func() { close(stop); <-done })
	return k
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
