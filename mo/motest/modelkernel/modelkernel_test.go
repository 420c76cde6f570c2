package modelkernel

import (
	"strings"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// harness adapts a Kernel to motest.Kernel.
type harness struct{ *Kernel }

func (h harness) Map(obj mo.Object, size mo.Size) (motest.Region, error) {
	r, err := h.Kernel.Map(obj, size)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func config(f Flaws) motest.KernelConfig {
	return motest.KernelConfig{
		New: func(ps mo.Size) (motest.Kernel, error) {
			k, err := NewFlawed(ps, f)
			if err != nil {
				return nil, err
			}
			return harness{k}, nil
		},
		PageSizes: []mo.Size{4 << 10, 64 << 10},
	}
}

func TestKernelScenarios(t *testing.T) { motest.TestKernel(t, config(Flaws{})) }

func TestKernelScenarios16K(t *testing.T) {
	cfg := config(Flaws{})
	cfg.PageSizes = []mo.Size{16 << 10}
	motest.TestKernel(t, cfg)
}

// Each flawed kernel must fail the named scenario with a message naming the
// rule it broke.
func TestFlawedKernelsFailNamingTheRule(t *testing.T) {
	for _, c := range []struct {
		name     string
		f        Flaws
		scenario string
		rule     string
	}{
		{"ReturnsCleanPages", Flaws{ReturnsCleanPages: true}, "DataReturnOnlyDirtyOrPrecious", motest.RuleDataReturnOnlyDirtyOrPrec},
		{"DropsPrecious", Flaws{DropsPrecious: true}, "DataReturnOnlyDirtyOrPrecious", motest.RuleDataReturnOnlyDirtyOrPrec},
		{"CallsAfterTerminate", Flaws{CallsAfterTerminate: true}, "NoCallAfterTerminate", motest.RuleNoCallAfterTerminate},
		{"TerminateOnEveryMap", Flaws{TerminateOnEveryMap: true}, "InitOncePerKernelWithItsPageSize", motest.RuleInitOncePerKernel},
		{"AcceptsUnrequested", Flaws{AcceptsUnrequested: true}, "AnsweredTwiceIsRefused", motest.RuleAnswersRefused},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := motest.RunKernelScenario(config(c.f), c.scenario)
			if err == nil {
				t.Fatalf("scenario %s passed a kernel that breaks %q", c.scenario, c.rule)
			}
			if !strings.Contains(err.Error(), c.rule) {
				t.Fatalf("scenario %s failed without naming the rule %q: %v", c.scenario, c.rule, err)
			}
			t.Logf("as expected: %v", err)
		})
	}
}

// Sync is forwarded so that the SynchronizeIsCompleted scenario runs.
var _ motest.Syncer = (*Region)(nil)
