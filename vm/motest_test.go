package vm

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// motestKernel plugs a Kernel into motest's kernel harness. With fault
// set, ReadAt and WriteAt are loads and stores through the software MMU
// and the fault handler; otherwise the copying API.
type motestKernel struct {
	t     testing.TB
	e     *testEnv
	fault bool
}

type motestRegion struct {
	mk *motestKernel
	r  *Region
}

func (m *motestKernel) PageSize() mo.Size { return mo.Size(m.e.k.ps) }
func (m *motestKernel) Quiesce()          { m.e.k.Quiesce() }

func (m *motestKernel) Map(obj mo.Object, size mo.Size) (motest.Region, error) {
	r, err := m.e.k.Map(obj, size, 0, uint32(size), MapOptions{})
	if err != nil {
		return nil, err
	}
	return &motestRegion{m, r}, nil
}

func (g *motestRegion) ReadAt(p []byte, off int64) (int, error) {
	if !g.mk.fault {
		return g.r.ReadAt(p, off)
	}
	if err := g.mk.e.load(g.r.Addr()+uint32(off), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (g *motestRegion) WriteAt(p []byte, off int64) (int, error) {
	if !g.mk.fault {
		return g.r.WriteAt(p, off)
	}
	if err := g.mk.e.store(g.r.Addr()+uint32(off), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Evict pages the object out as memory pressure would.
func (g *motestRegion) Evict() error {
	k := g.mk.e.k
	o := g.r.o
	k.returnRange(o, 0, o.size, mo.ReturnDirty, true, noLockChange)
	return k.CheckInvariants()
}

func (g *motestRegion) Unmap() error { return g.r.Unmap() }

// runMotest runs each scenario as a subtest whose kernels are released
// when it ends (the tests also run on the target, in 192 MiB).
func runMotest(t *testing.T, fault bool) {
	for _, name := range motest.KernelScenarios() {
		t.Run(name, func(t *testing.T) {
			cfg := motest.KernelConfig{
				New: func(ps mo.Size) (motest.Kernel, error) {
					e := newEnv(t, envOpt{ps: uint32(ps), frames: int(4 << 20 / ps), windowMiB: 8})
					return &motestKernel{t: t, e: e, fault: fault}, nil
				},
				PageSizes: []mo.Size{4 << 10, 64 << 10},
			}
			if err := motest.RunKernelScenario(cfg, name); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestMotestKernelScenariosCopying runs every kernel scenario of motest
// with the data reached through ReadAt and WriteAt.
func TestMotestKernelScenariosCopying(t *testing.T) { runMotest(t, false) }

// TestMotestKernelScenariosFaults runs them with the data reached by loads
// and stores through the software MMU, so that every page comes in by the
// fault handler.
func TestMotestKernelScenariosFaults(t *testing.T) { runMotest(t, true) }

// TestMotestKernelScenarios64K runs them with 64 KiB pages first.
func TestMotestKernelScenarios64K(t *testing.T) {
	cfg := motest.KernelConfig{
		New: func(ps mo.Size) (motest.Kernel, error) {
			e := newEnv(t, envOpt{ps: uint32(ps), frames: int(4 << 20 / ps), windowMiB: 8})
			return &motestKernel{t: t, e: e, fault: true}, nil
		},
		PageSizes: []mo.Size{64 << 10, 4 << 10},
	}
	for _, name := range motest.KernelScenarios() {
		t.Run(name, func(t *testing.T) {
			if err := motest.RunKernelScenario(cfg, name); err != nil {
				t.Error(err)
			}
		})
	}
}
