package rampager

import (
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
