// Package board describes the targets tamach runs on and the one place where
// each of them divides its memory.
//
// A board's physical memory (DDR) is split into regions that never overlap:
//
//   - the Go runtime's RAM: code, heap and stacks (TamaGo's RamStart/RamSize,
//     set at link time with the linkramsize build tag);
//   - the page-frame pool that vm hands out to memory objects;
//   - a region reserved for a RAM backing store of the default pager.
//
// Mappings of memory objects live in a virtual-address window that is
// outside the board's physical memory and outside every device, so pmap can
// take its first-level entries over from TamaGo's flat map.
//
// Invariants, checked by Layout.Check (and by a host test for every board):
// every region is 1 MiB aligned and sized (the granule of a first-level
// section, so the board can give each region its own memory attributes);
// the runtime, frame pool and store regions lie inside DDR and do not
// overlap; the window lies outside DDR; the first-level table lies inside
// the runtime's RAM.
//
// The subpackages (board/qemu, board/usbarmory) hold the layout of each
// board as plain Go, and, under the tamago build tag, the glue that starts
// the board: console, exit, arguments and memory attributes.
package board

import (
	"fmt"
	"io"
)

// Section is the size and alignment of every region of a Layout: one ARMv7
// first-level section (ARM ARM B3.5.1).
const Section = 1 << 20

// Region is a range of addresses [Start, Start+Size).
type Region struct {
	Start uint32
	Size  uint32
}

// End returns the first address past the region, as a uint64 so that a
// region ending at the top of the 32-bit space does not wrap.
func (r Region) End() uint64 { return uint64(r.Start) + uint64(r.Size) }

// Contains reports whether other lies entirely inside r.
func (r Region) Contains(other Region) bool {
	return other.Start >= r.Start && other.End() <= r.End()
}

// Overlaps reports whether r and other share at least one address.
func (r Region) Overlaps(other Region) bool {
	return uint64(r.Start) < other.End() && uint64(other.Start) < r.End()
}

func (r Region) String() string {
	return fmt.Sprintf("%#08x-%#08x (%d MiB)", r.Start, r.End()-1, r.Size>>20)
}

// Layout is the memory plan of one board.
type Layout struct {
	// Board names the board, as printed by the demo.
	Board string
	// DDR is the board's physical RAM.
	DDR Region
	// Runtime is the Go runtime's RAM (TamaGo's goos.RamStart/RamSize).
	Runtime Region
	// FramePool is the physical memory vm manages as page frames.
	FramePool Region
	// Store is reserved for a RAM backing store of the default pager.
	Store Region
	// Window is the virtual-address range where objects are mapped.
	Window Region
	// L1Table is the physical address of TamaGo's first-level table
	// (vbar + 0x4000, arm/mmu.go).
	L1Table uint32
}

// Check returns an error describing the first broken invariant of the
// layout, or nil.
func (l Layout) Check() error {
	named := []struct {
		name string
		r    Region
	}{
		{"ddr", l.DDR},
		{"runtime", l.Runtime},
		{"frame pool", l.FramePool},
		{"store", l.Store},
		{"window", l.Window},
	}
	for _, n := range named {
		if n.r.Size == 0 {
			return fmt.Errorf("board %s: %s region is empty", l.Board, n.name)
		}
		if n.r.Start%Section != 0 || n.r.Size%Section != 0 {
			return fmt.Errorf("board %s: %s region %v is not 1 MiB aligned and sized", l.Board, n.name, n.r)
		}
		if n.r.End() > 1<<32 {
			return fmt.Errorf("board %s: %s region %v wraps the address space", l.Board, n.name, n.r)
		}
	}
	inDDR := named[1:4]
	for i, a := range inDDR {
		if !l.DDR.Contains(a.r) {
			return fmt.Errorf("board %s: %s region %v is outside DDR %v", l.Board, a.name, a.r, l.DDR)
		}
		for _, b := range inDDR[i+1:] {
			if a.r.Overlaps(b.r) {
				return fmt.Errorf("board %s: %s region %v overlaps %s region %v", l.Board, a.name, a.r, b.name, b.r)
			}
		}
	}
	if l.Window.Overlaps(l.DDR) {
		return fmt.Errorf("board %s: window %v overlaps DDR %v", l.Board, l.Window, l.DDR)
	}
	if l.L1Table%(16<<10) != 0 || !l.Runtime.Contains(Region{l.L1Table, 16 << 10}) {
		return fmt.Errorf("board %s: first-level table %#x is not a 16 KiB aligned table inside the runtime's RAM", l.Board, l.L1Table)
	}
	return nil
}

// Frames returns the number of 4 KiB page frames in the frame pool.
func (l Layout) Frames() int { return int(l.FramePool.Size / 4096) }

// Print writes the layout, one region a line, as the demo shows it.
func (l Layout) Print(w io.Writer) {
	fmt.Fprintf(w, "board       %s\n", l.Board)
	fmt.Fprintf(w, "ddr         %v\n", l.DDR)
	fmt.Fprintf(w, "runtime     %v\n", l.Runtime)
	fmt.Fprintf(w, "frame pool  %v, %d frames of 4 KiB\n", l.FramePool, l.Frames())
	fmt.Fprintf(w, "store       %v\n", l.Store)
	fmt.Fprintf(w, "window      %v\n", l.Window)
	fmt.Fprintf(w, "l1 table    %#08x\n", l.L1Table)
}

// IMX6UL512 is the plan of an i.MX6UL board with 512 MiB of DDR at
// 0x80000000, as both supported boards have: 192 MiB for the Go runtime,
// a 32 MiB frame pool, 288 MiB for a RAM store, and a 512 MiB window at
// 0xc0000000 (past the DDR of the 1 GiB variants too). The L1 table is
// TamaGo's, at vbar+0x4000.
func IMX6UL512(name string) Layout {
	return Layout{
		Board:     name,
		DDR:       Region{Start: 0x80000000, Size: 512 << 20},
		Runtime:   Region{Start: 0x80000000, Size: IMX6ULRuntimeRAM},
		FramePool: Region{Start: 0x8c000000, Size: 32 << 20},
		Store:     Region{Start: 0x8e000000, Size: 288 << 20},
		Window:    Region{Start: 0xc0000000, Size: 512 << 20},
		L1Table:   0x80004000,
	}
}

// IMX6ULRuntimeRAM is the Go runtime's share of IMX6UL512's DDR, given to
// TamaGo as goos.RamSize (linkramsize build tag).
const IMX6ULRuntimeRAM = 192 << 20
