package rampager

import (
	"strings"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

const testSize = 256 << 10

func pattern(off mo.Offset) byte { return byte(off*7 + off>>12) }

func initial() []byte {
	b := make([]byte, testSize)
	for i := range b {
		b[i] = pattern(mo.Offset(i))
	}
	return b
}

func config(t testing.TB, precious, async bool) motest.PagerConfig {
	init := initial()
	return motest.PagerConfig{
		New: func() (mo.Object, error) {
			o, err := New(Config{Size: testSize, Initial: init, Precious: precious, Async: async})
			if err == nil {
				t.Cleanup(o.Close)
			}
			return o, err
		},
		Size:    testSize,
		Initial: pattern,
		Destroy: func(obj mo.Object, reason error) error { return obj.(*Object).Destroy(reason) },
	}
}

func TestPagerScenarios(t *testing.T) {
	for _, c := range []struct {
		name            string
		precious, async bool
	}{
		{"Sync", false, false},
		{"SyncPrecious", true, false},
		{"Async", false, true},
		{"AsyncPrecious", true, true},
	} {
		t.Run(c.name, func(t *testing.T) { motest.TestPager(t, config(t, c.precious, c.async)) })
	}
}

func defaultConfig(unsupported bool) motest.DefaultPagerConfig {
	var d *Default
	return motest.DefaultPagerConfig{
		New: func() (mo.DefaultPager, mo.BackingStores, error) {
			var err error
			d, err = NewDefault(4 << 10)
			if unsupported {
				return d, noDelete{d}, err
			}
			return d, d, err
		},
		AddSpace:          func(id mo.BackingStoreID, pages uint64) error { return d.AddSegment(id, pages) },
		PageSize:          4 << 10,
		DeleteUnsupported: unsupported,
	}
}

// noDelete is a default pager that does not support deleting stores.
type noDelete struct{ *Default }

func (n noDelete) BackingStoreDelete(id mo.BackingStoreID) error {
	if _, err := n.BackingStoreInfo(id); err != nil {
		return err
	}
	return mo.KernFailure
}

// forceDelete deletes a store even when its pages have nowhere to go.
type forceDelete struct{ *Default }

func (f forceDelete) BackingStoreDelete(id mo.BackingStoreID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, s := range f.stores {
		if s.id == id {
			f.stores = append(f.stores[:i], f.stores[i+1:]...)
			return nil
		}
	}
	return mo.KernInvalidArgument
}

func TestBrokenBackingStoreDeleteFails(t *testing.T) {
	cfg := defaultConfig(false)
	next := cfg.New
	cfg.New = func() (mo.DefaultPager, mo.BackingStores, error) {
		d, _, err := next()
		return d, forceDelete{d.(*Default)}, err
	}
	err := motest.RunDefaultPagerScenario(cfg, "BackingStoreDeleteReturnCodes")
	if err == nil || !strings.Contains(err.Error(), motest.RuleBackingStoreDelete) {
		t.Fatalf("a delete that drops pages it cannot move: got %v, want a violation of %q", err, motest.RuleBackingStoreDelete)
	}
	t.Logf("as expected: %v", err)
}

func TestDefaultPagerScenarios(t *testing.T) { motest.TestDefaultPager(t, defaultConfig(false)) }

func TestBackingStoreDeleteReturnCodes(t *testing.T) {
	for _, unsupported := range []bool{false, true} {
		if err := motest.RunDefaultPagerScenario(defaultConfig(unsupported), "BackingStoreDeleteReturnCodes"); err != nil {
			t.Errorf("delete unsupported %v: %v", unsupported, err)
		}
	}
}
