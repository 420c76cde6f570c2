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
