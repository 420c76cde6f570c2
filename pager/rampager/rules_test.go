package rampager

import (
	"testing"

	"github.com/tamach/tamach/mo/motest"
)

// One test per rule of the Mach manual pages, each running the pager
// scenario of that name against the pager in all its modes.

func runRule(t *testing.T, scenario string) {
	for _, c := range []struct {
		name            string
		precious, async bool
	}{{"Sync", false, false}, {"SyncPrecious", true, false}, {"Async", false, true}, {"AsyncPrecious", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			if err := motest.RunPagerScenario(config(t, c.precious, c.async), scenario); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestInitOncePerKernelWithItsPageSize(t *testing.T) {
	runRule(t, "InitOncePerKernelWithItsPageSize")
}
func TestInitErrorDropsControl(t *testing.T)         { runRule(t, "InitErrorDropsControl") }
func TestDataReturnOnlyDirtyOrPrecious(t *testing.T) { runRule(t, "DataReturnOnlyDirtyOrPrecious") }
func TestPageMayBeRequestedAgainAfterDataReturn(t *testing.T) {
	runRule(t, "PageMayBeRequestedAgainAfterDataReturn")
}
func TestDestroyIsFollowedByTerminate(t *testing.T) { runRule(t, "DestroyIsFollowedByTerminate") }
func TestNoCallAfterTerminate(t *testing.T)         { runRule(t, "NoCallAfterTerminate") }
func TestFlushWithWriteLockBeforeDestroyReturnsDirtyData(t *testing.T) {
	runRule(t, "FlushWithWriteLockBeforeDestroyReturnsDirtyData")
}
