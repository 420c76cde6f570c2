//go:build tamago

package vm

import (
	"fmt"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// Target is a Kernel running on the board: its Pmap drives the live MMU
// over a window, its frames are a region of the board's frame pool, and it
// resolves the aborts of that window through pmap's abort hook. Several
// Targets may run at once (two kernels with different page sizes, say),
// over disjoint windows and frames: one hook routes each abort to the
// Target whose window holds the address.
type Target struct {
	Kernel *Kernel
	Pmap   *pmap.Pmap

	window     board.Region
	frames     board.Region
	stop, done chan struct{}
}

// maxTargets bounds how many Targets run at once.
const maxTargets = 4

// router finds the Target of a faulting address: it is the abort hook's
// fault handler when several Targets run (reroute). Written only by NewTarget and Close, which run
// on goroutines; read by the hook on g0 with IRQs masked. On one core with
// cooperative scheduling an abort never interrupts NewTarget or Close in
// the middle of an update.
var router struct {
	targets    [maxTargets]*Target
	n          int
	dispatcher pmap.Dispatcher
	uninstall  func()
	// catch, for tests, makes an Unhandled fault skip the faulting
	// instruction and go on instead of stopping the program; caught counts
	// them.
	catch  bool
	caught uint64
}

// reroute registers the abort hook's handler: with one Target, and no
// test catching unhandled faults, its Kernel itself, which spares every
// abort the router's loop and call (about 35 instructions); otherwise
// the router. Called whenever router.n or router.catch changes. The hook
// reads the handler on g0; the update, on a goroutine, touches no window
// memory, so no abort comes in the middle of it (one core).
func reroute() {
	if router.n == 1 && !router.catch {
		router.dispatcher.Register(router.targets[0].Kernel)
	} else {
		router.dispatcher.Register(&route)
	}
}

// catchUnhandled sets router.catch (for tests) and reroutes.
func catchUnhandled(on bool) {
	router.catch = on
	reroute()
}

// routeFaults is registered as a pointer (&route): a zero-size value in
// an interface would be called through the compiler's pointer wrapper, a
// dozen instructions more on every abort.
type routeFaults struct{}

var route routeFaults

// HandleFault implements pmap.FaultHandler.
func (*routeFaults) HandleFault(f *pmap.Fault, onG0 bool) pmap.Resolution {
	r := pmap.Unhandled
	for _, t := range router.targets[:router.n] {
		if f.Addr-t.window.Start < t.window.Size {
			r = t.Kernel.HandleFault(f, onG0)
			break
		}
	}
	if r == pmap.Unhandled && router.catch {
		router.caught++
		pmap.SkipFaultingInstruction()
		return pmap.Retry
	}
	return r
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

// NewTarget takes over c.Window from TamaGo's flat map, enables the
// access flag (SCTLR.AFE), makes the kernel, installs the abort hook with
// the kernel as its handler and starts the pageout goroutine.
func NewTarget(l board.Layout, c TargetConfig) (*Target, error) {
	if router.n == maxTargets {
		return nil, fmt.Errorf("vm: %d Targets are running already", maxTargets)
	}
	if !l.FramePool.Contains(c.Frames) || !l.Window.Contains(c.Window) {
		return nil, fmt.Errorf("%w: frames %v or window %v outside the board's frame pool %v or window %v",
			ErrConfig, c.Frames, c.Window, l.FramePool, l.Window)
	}
	for _, o := range router.targets[:router.n] {
		if o.frames.Overlaps(c.Frames) || o.window.Overlaps(c.Window) {
			return nil, fmt.Errorf("%w: frames %v or window %v overlap a running Target's", ErrConfig, c.Frames, c.Window)
		}
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
	t := &Target{Kernel: k, Pmap: pm, window: c.Window, frames: c.Frames,
		stop: make(chan struct{}), done: make(chan struct{})}
	router.targets[router.n] = t
	router.n++
	reroute()
	if router.n == 1 {
		router.uninstall = pmap.InstallAbortHook(&router.dispatcher)
	}
	go func() {
		k.Pageout(t.stop)
		close(t.done)
	}()
	// Once running, the kernel's goroutines allocate nothing more.
	<-k.pageoutRunning
	return t, nil
}

// Faults returns how many aborts the hook dispatched, for every Target,
// by resolution (pmap.Unhandled, pmap.Retry, pmap.Yield).
func Faults() [3]uint64 { return router.dispatcher.Counts }

// Close stops the pageout goroutine, gives the window back to TamaGo's
// flat map and, with the last Target, removes the abort hook. Regions
// must be unmapped first.
func (t *Target) Close() {
	close(t.stop)
	<-t.done
	for i, o := range router.targets[:router.n] {
		if o == t {
			copy(router.targets[i:], router.targets[i+1:router.n])
			router.n--
			router.targets[router.n] = nil
			break
		}
	}
	if router.n == 0 {
		router.uninstall()
	} else {
		reroute()
	}
	t.Kernel.mu.Lock()
	t.Pmap.Destroy()
	t.Kernel.mu.Unlock()
}
