package modelkernel

import (
	"testing"

	"github.com/tamach/tamach/mo/motest"
)

// One test per rule of the Mach manual pages, each running the kernel
// scenario of that name against the model kernel.

func runRule(t *testing.T, scenario string) {
	if err := motest.RunKernelScenario(config(Flaws{}), scenario); err != nil {
		t.Error(err)
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
