//go:build tamago

package vm

import (
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// motest's kernel scenarios against Targets: every load and store of the
// scenarios is a real access to the window, resolved by the live MMU and
// the abort hook. A fault the kernel cannot resolve (data_error, a
// terminated object) is caught (catchUnhandled): the access is skipped and
// the adapter returns an error, as the copying API would.

var errCaughtFault = errors.New("vm: access faulted and was not resolved")

type targetMotest struct {
	targets []*Target
}

type targetKernel struct {
	tg *Target
}

type targetRegion struct {
	r *Region
}

func (m *targetMotest) new(ps mo.Size) (motest.Kernel, error) {
	i := uint32(len(m.targets))
	l := qemu.Layout
	tg, err := NewTarget(l, TargetConfig{
		PageSize: uint32(ps),
		Frames:   board.Region{Start: l.FramePool.Start + i*(4<<20), Size: 4 << 20},
		Window:   board.Region{Start: l.Window.Start + i*(16<<20), Size: 16 << 20},
	})
	if err != nil {
		return nil, err
	}
	m.targets = append(m.targets, tg)
	return targetKernel{tg}, nil
}

func (m *targetMotest) close() {
	for _, tg := range m.targets {
		tg.Kernel.Quiesce()
		tg.Kernel.mu.Lock()
		var live []*Region
		for _, e := range tg.Kernel.entries {
			live = append(live, e.region)
		}
		tg.Kernel.mu.Unlock()
		for _, r := range live {
			r.Unmap()
		}
		tg.Close()
	}
	m.targets = nil
}

func (k targetKernel) PageSize() mo.Size { return mo.Size(k.tg.Kernel.ps) }
func (k targetKernel) Quiesce()          { k.tg.Kernel.Quiesce() }

func (k targetKernel) Map(obj mo.Object, size mo.Size) (motest.Region, error) {
	r, err := k.tg.Kernel.Map(obj, size, 0, uint32(size), MapOptions{})
	if err != nil {
		return nil, err
	}
	return targetRegion{r}, nil
}

// access runs fn, one load or store instruction per word or byte, and
// reports whether a fault was caught meanwhile.
func access(fn func()) error {
	before := router.caught
	fn()
	if router.caught != before {
		return errCaughtFault
	}
	return nil
}

func (g targetRegion) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(g.r.size) {
		return 0, fmt.Errorf("%w: read of %d at %d", ErrRange, len(p), off)
	}
	base := g.r.start + uint32(off)
	err := access(func() {
		for i := range p {
			p[i] = *(*byte)(unsafe.Add(nil, base+uint32(i)))
		}
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (g targetRegion) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(g.r.size) {
		return 0, fmt.Errorf("%w: write of %d at %d", ErrRange, len(p), off)
	}
	base := g.r.start + uint32(off)
	err := access(func() {
		for i, b := range p {
			*(*byte)(unsafe.Add(nil, base+uint32(i))) = b
		}
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (g targetRegion) Evict() error {
	k := g.r.k
	o := g.r.o
	k.returnRange(o, 0, o.size, mo.ReturnDirty, true, noLockChange)
	return k.CheckInvariants()
}

func (g targetRegion) Unmap() error { return g.r.Unmap() }

// TestTargetMotestKernelScenarios runs every kernel scenario of motest
// with the data reached by real loads and stores through the MMU.
func TestTargetMotestKernelScenarios(t *testing.T) {
	catchUnhandled(true)
	defer catchUnhandled(false)
	m := &targetMotest{}
	cfg := motest.KernelConfig{New: m.new, PageSizes: []mo.Size{4 << 10, 64 << 10}}
	for _, name := range motest.KernelScenarios() {
		t.Run(name, func(t *testing.T) {
			defer m.close()
			if err := motest.RunKernelScenario(cfg, name); err != nil {
				t.Error(err)
			}
		})
	}
}
