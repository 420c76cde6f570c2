//go:build tamago

package defaultpager

import (
	"errors"
	"sync"
	"testing"

	"github.com/tamach/tamach/board/usdhc"
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
// SD store, through vm's call workers.
func BenchmarkTargetPageInSD(b *testing.B) {
	benchPageIn(b, pagerOver(b, sdStore(b, ps, benchBatch)))
}

// BenchmarkTargetPageOutSD: data_return into the SD store.
func BenchmarkTargetPageOutSD(b *testing.B) {
	benchPageOut(b, pagerOver(b, sdStore(b, ps, benchBatch)))
}

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
