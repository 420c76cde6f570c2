package defaultpager

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/pager/store"
)

const testSize = 256 << 10

// kinds of store every scenario runs on: on the target also "SD"
// (sd_target_test.go).
var storeKinds = []string{"RAM", "File", "Sealed", "Device", "SealedChaCha"}

// moreStores makes the stores of kinds that exist on one platform only.
var moreStores = map[string]func(t testing.TB, ps int, pages uint64) store.Store{}

// newStore makes a store of the kind with pages slots of ps bytes.
func newStore(t testing.TB, kind string, ps int, pages uint64) store.Store {
	t.Helper()
	switch kind {
	case "RAM":
		s, _ := store.NewRAM(make([]byte, int(pages)*ps), ps)
		return s
	case "File":
		f, err := os.Create(filepath.Join(t.TempDir(), "store"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		s, err := store.CreateFile(f, ps, pages)
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "Sealed", "SealedChaCha":
		c := store.AESGCM
		if kind == "SealedChaCha" {
			c = store.ChaCha20Poly1305
		}
		ram, _ := store.NewRAM(make([]byte, int(pages)*store.InnerPageSize(ps)), store.InnerPageSize(ps))
		s, err := store.NewSealedRandomKeyCipher(ram, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "Device":
		s, err := store.NewDevice(store.MemDevice(make([]byte, int(pages)*ps)), 0, pages, ps)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if mk, ok := moreStores[kind]; ok {
		return mk(t, ps, pages)
	}
	t.Fatalf("no store kind %q", kind)
	return nil
}

// newPager makes a pager with one store of the kind holding room for
// pages pages.
func newPager(t testing.TB, cfg Config, kind string, pages uint64) (*Pager, mo.BackingStoreID) {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	id, err := p.BackingStoreCreate(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AddSegment(id, newStore(t, kind, int(p.PageSize()), pages)); err != nil {
		t.Fatal(err)
	}
	return p, id
}

func pagerConfig(t *testing.T, kind string, async bool) motest.PagerConfig {
	return motest.PagerConfig{
		New: func() (mo.Object, error) {
			p, _ := newPager(t, Config{Async: async}, kind, 2*testSize/4096)
			return p.ObjectCreate(testSize)
		},
		Size:    testSize,
		Destroy: func(obj mo.Object, reason error) error { return obj.(*Object).Destroy(reason) },
	}
}

func forEachMode(t *testing.T, fn func(t *testing.T, kind string, async bool)) {
	for _, kind := range storeKinds {
		for _, async := range []bool{false, true} {
			name := kind + "/Sync"
			if async {
				name = kind + "/Async"
			}
			t.Run(name, func(t *testing.T) { fn(t, kind, async) })
		}
	}
}

// TestPagerScenarios runs motest's pager scenarios on an object made by
// ObjectCreate, on every store, synchronous and asynchronous.
func TestPagerScenarios(t *testing.T) {
	forEachMode(t, func(t *testing.T, kind string, async bool) {
		motest.TestPager(t, pagerConfig(t, kind, async))
	})
}

func defaultConfig(t *testing.T, kind string, async, noDelete bool) motest.DefaultPagerConfig {
	var p *Pager
	return motest.DefaultPagerConfig{
		New: func() (mo.DefaultPager, mo.BackingStores, error) {
			var err error
			p, err = New(Config{Async: async, NoDelete: noDelete})
			if err == nil {
				t.Cleanup(p.Close)
			}
			return p, p, err
		},
		AddSpace: func(id mo.BackingStoreID, pages uint64) error {
			return p.AddSegment(id, newStore(t, kind, int(p.PageSize()), pages))
		},
		PageSize:          4 << 10,
		DeleteUnsupported: noDelete,
	}
}

// TestDefaultPagerScenarios runs motest's default-pager scenarios on
// every store, synchronous and asynchronous.
func TestDefaultPagerScenarios(t *testing.T) {
	forEachMode(t, func(t *testing.T, kind string, async bool) {
		motest.TestDefaultPager(t, defaultConfig(t, kind, async, false))
	})
}

// TestBackingStoreDeleteReturnCodes: KERN_SUCCESS, KERN_INVALID_ARGUMENT
// and, for a pager made with NoDelete, KERN_FAILURE.
func TestBackingStoreDeleteReturnCodes(t *testing.T) {
	for _, noDelete := range []bool{false, true} {
		if err := motest.RunDefaultPagerScenario(defaultConfig(t, "RAM", false, noDelete), "BackingStoreDeleteReturnCodes"); err != nil {
			t.Errorf("NoDelete %v: %v", noDelete, err)
		}
	}
}

// One test per rule of the Mach manual pages.
func runRule(t *testing.T, scenario string) {
	forEachMode(t, func(t *testing.T, kind string, async bool) {
		if err := motest.RunPagerScenario(pagerConfig(t, kind, async), scenario); err != nil {
			t.Error(err)
		}
	})
}

func TestInitOncePerKernelWithItsPageSize(t *testing.T) {
	runRule(t, "InitOncePerKernelWithItsPageSize")
}
func TestDataReturnOnlyDirtyOrPrecious(t *testing.T) { runRule(t, "DataReturnOnlyDirtyOrPrecious") }
func TestPageMayBeRequestedAgainAfterDataReturn(t *testing.T) {
	runRule(t, "PageMayBeRequestedAgainAfterDataReturn")
}
func TestNoCallAfterTerminate(t *testing.T) { runRule(t, "NoCallAfterTerminate") }
func TestFlushWithWriteLockBeforeDestroyReturnsDirtyData(t *testing.T) {
	runRule(t, "FlushWithWriteLockBeforeDestroyReturnsDirtyData")
}
