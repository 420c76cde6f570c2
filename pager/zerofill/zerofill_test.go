package zerofill

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

func config() motest.PagerConfig {
	return motest.PagerConfig{
		New:  func() (mo.Object, error) { return New(256 << 10) },
		Size: 256 << 10,
	}
}

func TestPagerScenarios(t *testing.T) { motest.TestPager(t, config()) }

func TestCreateActsAsInit(t *testing.T) {
	cfg := motest.DefaultPagerConfig{
		New:      func() (mo.DefaultPager, mo.BackingStores, error) { return Pager{}, nil, nil },
		PageSize: 4 << 10,
	}
	if err := motest.RunDefaultPagerScenario(cfg, "CreateActsAsInit"); err != nil {
		t.Fatal(err)
	}
}
