//go:build tamago

package defaultpager

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/store"
	"github.com/tamach/tamach/vm"
)

// Clustered page-ins through vm on the target: an object whose pages are
// all in the store, four times the kernel's frames, read in order
// through the window (real faults), with the pager's cluster size
// (Config.ClusterPages) 1 or the default.

// seqFramesMiB is the frame pool of these kernels; the object is four
// times as large.
const (
	seqFramesMiB = 1
	seqPages     = 4 * seqFramesMiB << 20 / ps
)

// seqStores are the stores of the clustered tests and benchmarks.
var seqStores = []struct {
	name string
	new  func(tb testing.TB) store.Store
}{
	{"RAM", func(tb testing.TB) store.Store { return boardStore(tb, false) }},
	{"SD", func(tb testing.TB) store.Store { return sdStore(tb, ps, seqPages) }},
}

// storedObjectOver makes a pager over st announcing clusters of
// clusterPages (0: its default) and an object of seqPages pages, every
// word targetPattern of its offset, stored as a kernel that paged them
// out and terminated it would have left it.
func storedObjectOver(tb testing.TB, st store.Store, clusterPages int) (*Pager, *Object) {
	tb.Helper()
	p, err := NewOver(Config{ClusterPages: clusterPages}, st)
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := p.ObjectCreate(seqPages * ps)
	if err != nil {
		tb.Fatal(err)
	}
	ctl := motest.NewFrameControl(ps, nil)
	if err := obj.Init(0, ctl, ps); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 64*ps)
	s := mo.Seqno(1)
	for off := 0; off < seqPages*ps; off += len(buf) {
		for i := 0; i < len(buf); i += 4 {
			binary.LittleEndian.PutUint32(buf[i:], targetPattern(uint32(off+i)))
		}
		if err := obj.DataReturn(s, ctl, mo.Offset(off), buf, true, false); err != nil {
			tb.Fatal(err)
		}
		s++
	}
	if err := obj.Terminate(s, ctl); err != nil {
		tb.Fatal(err)
	}
	return p, obj
}

// mapSeq maps obj in a Target of seqFramesMiB of frames.
func mapSeq(tb testing.TB, p *Pager, obj *Object) (*vm.Kernel, *vm.Region) {
	tb.Helper()
	l := qemu.Layout
	tg, err := vm.NewTarget(l, vm.TargetConfig{
		PageSize:     ps,
		Frames:       board.Region{Start: l.FramePool.Start, Size: seqFramesMiB << 20},
		Window:       board.Region{Start: l.Window.Start, Size: 8 << 20},
		DefaultPager: p,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tg.Close)
	r, err := tg.Kernel.Map(obj, seqPages*ps, 0, seqPages*ps, vm.MapOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return tg.Kernel, r
}

// TestTargetClusteredPageInFourTimesTheFrames: the object read twice in
// order, every word checked, over the RAM and SD stores with clusters of
// 1 and of the default: with clusters, one data_request serves several
// pages also once every frame is in use (the clock drops clean pages for
// the cluster), and the pager reads each cluster with one store call.
func TestTargetClusteredPageInFourTimesTheFrames(t *testing.T) {
	for _, sk := range seqStores {
		for _, cl := range []int{1, 0} {
			t.Run(fmt.Sprintf("%s/cluster=%d", sk.name, cl), func(t *testing.T) {
				p, obj := storedObjectOver(t, sk.new(t), cl)
				k, r := mapSeq(t, p, obj)
				win := r.Bytes()
				before, pb := k.Stats(), p.Stats()
				for pass := 0; pass < 2; pass++ {
					for off := uint32(0); off < seqPages*ps; off += 4 {
						if got := binary.LittleEndian.Uint32(win[off:]); got != targetPattern(off) {
							t.Fatalf("pass %d: word at %#x is %#x, want %#x", pass, off, got, targetPattern(off))
						}
					}
				}
				vs, st := k.Stats(), p.Stats()
				req, ins := vs.DataRequests-before.DataRequests, st.PageIns-pb.PageIns
				t.Logf("%d pages twice over %d frames: %d data_requests, pager page-ins %d, vm evictions %d",
					seqPages, vs.Frames, req, ins, vs.Evictions-before.Evictions)
				if ins < 2*seqPages {
					t.Errorf("%d page-ins for two passes over %d pages, four times the frames", ins, seqPages)
				}
				if cl == 1 && req != ins {
					t.Errorf("clusters of 1: %d data_requests for %d page-ins", req, ins)
				}
				if cl == 0 && req*3 > ins {
					t.Errorf("clusters of %d: %d data_requests for %d page-ins", DefaultClusterPages, req, ins)
				}
				if err := k.CheckInvariants(); err != nil {
					t.Fatal(err)
				}
				checkInv(t, p)
			})
		}
	}
}

// BenchmarkTargetSequentialPageIn: per page, a read of the next page of
// the object (four times the frames, every page in the store), in
// order and round again: a fault and page-in for each page with clusters
// of 1; a fault and a page-in of the cluster for each cluster with the
// default (4) or 8. Under -icount ns/op counts instructions per page;
// requests/page is data_requests per page.
func BenchmarkTargetSequentialPageIn(b *testing.B) {
	for _, sk := range seqStores {
		for _, cl := range []int{1, DefaultClusterPages, 8} {
			b.Run(fmt.Sprintf("%s/cluster=%d", sk.name, cl), func(b *testing.B) {
				p, obj := storedObjectOver(b, sk.new(b), cl)
				k, r := mapSeq(b, p, obj)
				win := r.Bytes()
				before := k.Stats()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					off := uint32(i%seqPages) * ps
					if got := binary.LittleEndian.Uint32(win[off:]); got != targetPattern(off) {
						b.Fatalf("word at %#x is %#x, want %#x", off, got, targetPattern(off))
					}
				}
				b.StopTimer()
				vs := k.Stats()
				b.ReportMetric(float64(vs.DataRequests-before.DataRequests)/float64(b.N), "requests/page")
				if vs.DataRequests == before.DataRequests {
					b.Fatal("no data_request: the pages did not come from the store")
				}
			})
		}
	}
}

// BenchmarkTargetStridedPageIn reads one word of every fifth page of the
// object (four times the frames, every page in the store; 5 and its 1,024
// pages are coprime, so every page comes round), with the default
// cluster size (4) and the mapping's behavior default or random
// (vm.Region.SetBehavior): the default reads each page's cluster, whose
// other pages are evicted before the stride comes back to them; random
// reads the page alone. ns/op counts instructions per page read;
// store-pages/page is pages the pager read from the store per page read.
func BenchmarkTargetStridedPageIn(b *testing.B) {
	for _, sk := range seqStores {
		for _, bh := range []vm.Behavior{vm.BehaviorDefault, vm.BehaviorRandom} {
			b.Run(fmt.Sprintf("%s/%v", sk.name, bh), func(b *testing.B) {
				p, obj := storedObjectOver(b, sk.new(b), 0)
				k, r := mapSeq(b, p, obj)
				if err := r.SetBehavior(0, r.Size(), bh); err != nil {
					b.Fatal(err)
				}
				win := r.Bytes()
				before, pbefore := k.Stats(), p.Stats()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					off := uint32(i*5%seqPages) * ps
					if got := binary.LittleEndian.Uint32(win[off:]); got != targetPattern(off) {
						b.Fatalf("word at %#x is %#x, want %#x", off, got, targetPattern(off))
					}
				}
				b.StopTimer()
				if k.Stats().DataRequests == before.DataRequests {
					b.Fatal("no data_request: the pages did not come from the store")
				}
				b.ReportMetric(float64(p.Stats().PageIns-pbefore.PageIns)/float64(b.N), "store-pages/page")
			})
		}
	}
}
