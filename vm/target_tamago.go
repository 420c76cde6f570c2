//go:build tamago

package vm

import (
	"errors"
	"fmt"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// Target is a Kernel running on the board: its Pmap drives the live MMU
// over a window, its frames are a region of the board's frame pool, and it
// resolves the aborts of that window through pmap's abort hook. There is
// one exception vector, so at most one Target exists at a time.
type Target struct {
	Kernel *Kernel
	Pmap   *pmap.Pmap

	dispatcher pmap.Dispatcher
	uninstall  func()
	stop, done chan struct{}
}

// TargetConfig says which part of the board a Target takes.
type TargetConfig struct {
	// PageSize is 4 KiB or 64 KiB.
	PageSize uint32
	// Frames is the physical memory for the kernel's frames, inside the
	// board's frame pool, and 1 MiB aligned. Its first pages hold the
	// window's second-level tables (1 KiB per MiB of window).
	Frames board.Region
	// Window is the virtual range the kernel maps objects into, inside
	// the board's window.
	Window board.Region
	// DefaultPager backs Allocate (nil: Allocate fails).
	DefaultPager mo.DefaultPager
	// Trace, MaxMappings and the frame marks are passed to the Kernel.
	Trace                                *mo.Trace
	MaxMappings                          int
	LowFrames, HighFrames, ReserveFrames int
}

var targetRunning bool

// NewTarget takes over c.Window from TamaGo's flat map, enables the
// access flag (SCTLR.AFE), makes the kernel, installs the abort hook with
// the kernel as its handler and starts the pageout goroutine.
func NewTarget(l board.Layout, c TargetConfig) (*Target, error) {
	if targetRunning {
		return nil, errors.New("vm: a Target is already running: close it first")
	}
	if !l.FramePool.Contains(c.Frames) || !l.Window.Contains(c.Window) {
		return nil, fmt.Errorf("%w: frames %v or window %v outside the board's frame pool %v or window %v",
			ErrConfig, c.Frames, c.Window, l.FramePool, l.Window)
	}
	if c.PageSize != 4<<10 && c.PageSize != 64<<10 {
		return nil, fmt.Errorf("%w: page size %#x", ErrConfig, c.PageSize)
	}
	tables := int(c.Window.Size >> 20)
	tableBytes := (uint32(tables)<<10 + c.PageSize - 1) &^ (c.PageSize - 1)
	if c.Frames.Size <= tableBytes {
		return nil, fmt.Errorf("%w: frames %v leave nothing after %d bytes of tables", ErrConfig, c.Frames, tableBytes)
	}
	pool, err := pmap.NewTablePool(c.Frames.Start, tables)
	if err != nil {
		return nil, err
	}
	pmap.EnableAccessFlag()
	frameBase, frameSize := c.Frames.Start+tableBytes, c.Frames.Size-tableBytes
	pm, err := pmap.New(pmap.Config{
		Base: c.Window.Start, Size: c.Window.Size,
		Phys: []pmap.Range{{Start: frameBase, Size: frameSize}},
		Mem:  pmap.NewIdentity(), Alloc: pool, MMU: pmap.Hardware{},
		CacheLine: pmap.DCacheLineSize(),
	})
	if err != nil {
		return nil, err
	}
	k, err := New(Config{
		PageSize: c.PageSize, Pmap: pm, FrameBase: frameBase, FrameSize: frameSize,
		Mem: Identity{}, DefaultPager: c.DefaultPager, Trace: c.Trace, MaxMappings: c.MaxMappings,
		LowFrames: c.LowFrames, HighFrames: c.HighFrames, ReserveFrames: c.ReserveFrames,
	})
	if err != nil {
		pm.Destroy()
		return nil, err
	}
	t := &Target{Kernel: k, Pmap: pm, stop: make(chan struct{}), done: make(chan struct{})}
	t.dispatcher.Register(k)
	t.uninstall = pmap.InstallAbortHook(&t.dispatcher)
	go func() {
		k.Pageout(t.stop)
		close(t.done)
	}()
	targetRunning = true
	return t, nil
}

// Faults returns how many aborts the hook dispatched, by resolution
// (pmap.Unhandled, pmap.Retry, pmap.Yield).
func (t *Target) Faults() [3]uint64 { return t.dispatcher.Counts }

// Close stops the pageout goroutine, removes the abort hook and gives the
// window back to TamaGo's flat map. Regions must be unmapped first.
func (t *Target) Close() {
	close(t.stop)
	<-t.done
	t.uninstall()
	t.Kernel.mu.Lock()
	t.Pmap.Destroy()
	t.Kernel.mu.Unlock()
	targetRunning = false
}
