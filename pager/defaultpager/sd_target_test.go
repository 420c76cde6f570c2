//go:build tamago

package defaultpager

import (
	"sync"
	"testing"

	"github.com/tamach/tamach/board/usdhc"
	"github.com/tamach/tamach/pager/store"
)

// The SD store on the target: QEMU's uSDHC model with the runner's SD
// card (qemu-run -sd, a sparse 4 GiB image in USDHC1). Every scenario of
// this package's tests also runs on the "SD" kind, each store on blocks
// of the card no other store of the run uses.

var sd struct {
	once sync.Once
	card *usdhc.Card
	err  error
	mu   sync.Mutex
	next uint64 // protected by mu: the first block no store has
}

func init() {
	storeKinds = append(storeKinds, "SD")
	moreStores["SD"] = sdStore
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
	sd.next += pages * uint64(ps/usdhc.BlockSize)
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
