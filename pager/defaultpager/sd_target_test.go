//go:build tamago

package defaultpager

import (
	"errors"
	"sync"
	"testing"

	"github.com/tamach/tamach/board/usdhc"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/store"
)

// The SD store on the target: QEMU's uSDHC model with the runner's SD
// card (qemu-run -sd, a sparse 4 GiB image in USDHC1). Every scenario of
// this package's tests also runs on the "SD" kind and on "SealedSD" (the
// SD store sealed with ChaCha20-Poly1305), each store on blocks of the
// card no other store of the run uses.

var sd struct {
	once sync.Once
	card *usdhc.Card
	err  error
	mu   sync.Mutex
	next uint64 // protected by mu: the first block no store has
}

func init() {
	storeKinds = append(storeKinds, "SD", "SealedSD")
	moreStores["SD"] = sdStore
	moreStores["SealedSD"] = func(t testing.TB, ps int, pages uint64) store.Store {
		t.Helper()
		s, err := store.NewSealedRandomKeyCipher(sdStore(t, store.InnerPageSize(ps), pages), store.ChaCha20Poly1305)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// sdStore makes a store of pages slots of ps bytes on fresh blocks of the
// card.
func sdStore(t testing.TB, ps int, pages uint64) store.Store {
	t.Helper()
	sd.once.Do(func() { sd.card, sd.err = usdhc.Open(usdhc.USDHC1, usdhc.Config{}) })
	if sd.err != nil {
		t.Fatalf("SD card in USDHC1: %v (the runner gives the guest one unless -sd 0)", sd.err)
	}
	sd.mu.Lock()
	first := sd.next
	sd.next += pages * uint64((ps+usdhc.BlockSize-1)/usdhc.BlockSize)
	sd.mu.Unlock()
	s, err := store.NewDevice(sd.card, first, pages, ps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTargetAnonymousMemoryFourTimesTheFramesOverSD: anonymous memory
// four times the Target's frames over a store on the SD card, every byte
// written and checked in two orders; the pager is not fault-safe over
// it, so vm's call workers make its calls.
func TestTargetAnonymousMemoryFourTimesTheFramesOverSD(t *testing.T) {
	p := pagerOver(t, sdStore(t, ps, 4*targetFramesMiB<<20/ps))
	testAnonymousFourTimes(t, p, false)
}

// BenchmarkTargetPageInSD: a fault served by the default pager from the
// SD store, through vm's call workers, one page per data_request
// (clusters of one page; BenchmarkTargetSequentialPageIn measures
// clusters).
func BenchmarkTargetPageInSD(b *testing.B) {
	benchPageIn(b, pagerOverConfig(b, sdStore(b, ps, benchBatch), Config{ClusterPages: 1}))
}

// BenchmarkTargetPageOutSD: data_return into the SD store.
func BenchmarkTargetPageOutSD(b *testing.B) {
	benchPageOut(b, pagerOver(b, sdStore(b, ps, benchBatch)))
}

// benchSDRuns: page-in or page-out per page on the SD store, with
// data_request or data_return calls of pages neighbouring pages each,
// made on the object directly (no vm). The pages of a call sit in
// neighbouring slots, so with pages 4 each call is one multiple-block
// command (CMD18, CMD25) instead of four; with pages 1 it is one per page.
// ns/op is per page, as the loop counts pages.
func benchSDRuns(b *testing.B, pages int, in bool) {
	p := pagerOver(b, sdStore(b, ps, benchBatch))
	ctl := motest.NewFrameControl(ps, nil)
	obj, err := p.Create(ctl, benchBatch*ps, ps)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 0, pages*ps)
	for i := 0; i < pages; i++ {
		data = append(data, fill(byte(i))...)
	}
	s := mo.Seqno(1)
	for off := 0; off < benchBatch; off += pages {
		if err := obj.DataReturn(s, ctl, mo.Offset(off*ps), data, true, false); err != nil {
			b.Fatal(err)
		}
		s++
	}
	before := p.Stats()
	moved := 0
	b.ResetTimer()
	for i := 0; i < b.N; i += pages {
		off := mo.Offset(i % benchBatch * ps)
		if in {
			err = obj.DataRequest(s, ctl, off, mo.Size(pages*ps), mo.ProtRead)
		} else {
			err = obj.DataReturn(s, ctl, off, data, true, false)
		}
		if err != nil {
			b.Fatal(err)
		}
		s++
		moved += pages
	}
	b.StopTimer()
	after := p.Stats()
	if in && (after.PageIns-before.PageIns != uint64(moved) || ctl.Supplies != moved || string(ctl.Frame) != string(fill(byte(pages-1)))) {
		b.Fatalf("%d page-ins, %d supplies for %d pages", after.PageIns-before.PageIns, ctl.Supplies, moved)
	}
	if !in && after.PageOuts-before.PageOuts != uint64(moved) {
		b.Fatalf("%d page-outs for %d pages", after.PageOuts-before.PageOuts, moved)
	}
}

// BenchmarkTargetPageInSDRun1: per page, data_request of one page from
// the SD store (one CMD18 of 8 blocks each).
func BenchmarkTargetPageInSDRun1(b *testing.B) { benchSDRuns(b, 1, true) }

// BenchmarkTargetPageInSDRun4: per page, data_request of four
// neighbouring pages (one CMD18 of 32 blocks for the four).
func BenchmarkTargetPageInSDRun4(b *testing.B) { benchSDRuns(b, 4, true) }

// BenchmarkTargetPageOutSDRun1: per page, data_return of one page into
// the SD store (one CMD25 each).
func BenchmarkTargetPageOutSDRun1(b *testing.B) { benchSDRuns(b, 1, false) }

// BenchmarkTargetPageOutSDRun4: per page, data_return of four
// neighbouring pages (one CMD25 for the four).
func BenchmarkTargetPageOutSDRun4(b *testing.B) { benchSDRuns(b, 4, false) }

// TestTargetSealedSDStoreDetectsTampering: pages sealed onto the SD card
// read back; a bit flipped on the card, two slots swapped on the card,
// or an older slot image written back make the read fail with ErrAuth.
func TestTargetSealedSDStoreDetectsTampering(t *testing.T) {
	inner := sdStore(t, store.InnerPageSize(ps), 8).(*store.Device)
	s, err := store.NewSealedRandomKeyCipher(inner, store.ChaCha20Poly1305)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < 8; i++ {
		if err := s.WritePage(i, fill(byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, ps)
	for i := uint64(0); i < 8; i++ {
		if err := s.ReadPage(i, got); err != nil || string(got) != string(fill(byte(i))) {
			t.Fatalf("slot %d: %v", i, err)
		}
	}
	n := store.InnerPageSize(ps)
	raw := func(slot uint64) []byte {
		b := make([]byte, n)
		if err := inner.ReadPage(slot, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	put := func(slot uint64, b []byte) {
		if err := inner.WritePage(slot, b); err != nil {
			t.Fatal(err)
		}
	}
	wantAuth := func(slot uint64, why string) {
		t.Helper()
		if err := s.ReadPage(slot, got); !errors.Is(err, store.ErrAuth) {
			t.Fatalf("%s: %v, want ErrAuth", why, err)
		}
	}
	b := raw(1)
	b[2000] ^= 4
	put(1, b)
	wantAuth(1, "a bit flipped on the card")
	b2, b3 := raw(2), raw(3)
	put(2, b3)
	put(3, b2)
	wantAuth(2, "slots swapped on the card")
	wantAuth(3, "slots swapped on the card")
	old := raw(4)
	if err := s.WritePage(4, fill(44)); err != nil {
		t.Fatal(err)
	}
	put(4, old)
	wantAuth(4, "an older slot image written back")
	if err := s.ReadPage(5, got); err != nil || string(got) != string(fill(5)) {
		t.Fatalf("an untouched slot: %v", err)
	}
}
