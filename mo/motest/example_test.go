package motest_test

import (
	"fmt"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/mo/motest/modelkernel"
)

// harness is all a kernel needs to be held to the kernel scenarios: Map
// returning a Region (ReadAt, WriteAt, Evict, Unmap). vm's adapter has the
// same shape.
type harness struct{ *modelkernel.Kernel }

func (h harness) Map(obj mo.Object, size mo.Size) (motest.Region, error) {
	r, err := h.Kernel.Map(obj, size)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// A kernel test hands TestKernel a config like this one; here the
// scenarios are run one by one to show what they report.
func ExampleTestKernel() {
	cfg := motest.KernelConfig{
		New: func(ps mo.Size) (motest.Kernel, error) {
			k, err := modelkernel.New(ps, 1, nil)
			return harness{k}, err
		},
		PageSizes: []mo.Size{4 << 10, 64 << 10},
	}
	for _, name := range []string{"DataReturnOnlyDirtyOrPrecious", "NoCallAfterTerminate"} {
		fmt.Println(name, motest.RunKernelScenario(cfg, name))
	}
	// Output:
	// DataReturnOnlyDirtyOrPrecious <nil>
	// NoCallAfterTerminate <nil>
}

// The scenario names are stable; tests and reports refer to them.
func TestScenarioNames(t *testing.T) {
	want := map[string][]string{
		"pager":   {"InitOncePerKernelWithItsPageSize", "InitErrorDropsControl", "DataReturnOnlyDirtyOrPrecious", "PageMayBeRequestedAgainAfterDataReturn", "DestroyIsFollowedByTerminate", "NoCallAfterTerminate", "FlushWithWriteLockBeforeDestroyReturnsDirtyData"},
		"kernel":  {"InitOncePerKernelWithItsPageSize", "InitErrorDropsControl", "DataReturnOnlyDirtyOrPrecious", "PageMayBeRequestedAgainAfterDataReturn", "DestroyIsFollowedByTerminate", "NoCallAfterTerminate", "FlushWithWriteLockBeforeDestroyReturnsDirtyData"},
		"default": {"BackingStoreDeleteReturnCodes", "CreateActsAsInit"},
	}
	got := map[string][]string{"pager": motest.PagerScenarios(), "kernel": motest.KernelScenarios(), "default": motest.DefaultPagerScenarios()}
	for side, names := range want {
		have := map[string]bool{}
		for _, n := range got[side] {
			have[n] = true
		}
		for _, n := range names {
			if !have[n] {
				t.Errorf("%s scenarios lack %s", side, n)
			}
		}
	}
	if err := motest.RunPagerScenario(motest.PagerConfig{}, "NoSuchScenario"); err == nil {
		t.Error("an unknown scenario ran")
	}
}
