// Package vmtest builds vm kernels for host tests of other packages: page
// tables in pmap's FakeMem, a recording MMU, a byte slice as the frame
// pool, and the kernel's pageout goroutine running until the test ends.
// Accesses go through the kernel's copying API (Region.ReadAt, WriteAt) or
// through Kernel.HandleFault; vm's own tests also drive the software MMU.
package vmtest

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
	"github.com/tamach/tamach/vm"
)

// Addresses of the kernels NewKernel makes: the window (16 MiB) and the
// frame pool, both outside the flat map FakeMem copies.
const (
	Window    = 0x40000000
	FrameBase = 0x90000000
)

// Config describes a host kernel.
type Config struct {
	// PageSize is 4 KiB (the default) or 64 KiB.
	PageSize uint32
	// Frames is the size of the frame pool in pages.
	Frames int
	// DefaultPager backs Allocate (nil: none).
	DefaultPager mo.DefaultPager
	// CheckAtEnd makes the cleanup wait for the kernel's goroutines and
	// fail the test if its invariants do not hold.
	CheckAtEnd bool
}

// NewKernel builds a kernel over host memory and starts its pageout
// goroutine, stopped when the test ends.
func NewKernel(t testing.TB, c Config) *vm.Kernel {
	t.Helper()
	if c.PageSize == 0 {
		c.PageSize = 4 << 10
	}
	fm, err := pmap.NewFakeMem(0x80004000, 0x81000000, 16)
	if err != nil {
		t.Fatal(err)
	}
	fm.FlatMap(0x80000000, 0x80400000, 0xa0000000)
	size := uint32(c.Frames) * c.PageSize
	pm, err := pmap.New(pmap.Config{Base: Window, Size: 16 << 20,
		Phys: []pmap.Range{{Start: FrameBase, Size: size}}, Mem: fm, Alloc: fm, MMU: pmap.NewRecordingMMU(0)})
	if err != nil {
		t.Fatal(err)
	}
	k, err := vm.New(vm.Config{PageSize: c.PageSize, Pmap: pm, FrameBase: FrameBase, FrameSize: size,
		Mem: &vm.SliceMem{Base: FrameBase, Mem: make([]byte, size)}, DefaultPager: c.DefaultPager})
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { k.Pageout(stop); close(done) }()
	t.Cleanup(func() {
		close(stop)
		<-done
		if c.CheckAtEnd {
			k.Quiesce()
			if err := k.CheckInvariants(); err != nil {
				t.Error(err)
			}
		}
	})
	return k
}
