//go:build tamago

package vm

import "unsafe"

// Identity is the frame memory of the target: TamaGo maps physical memory
// flat, and the board maps the frame pool as normal memory, so a frame's
// bytes are at its physical address.
type Identity struct{}

// Bytes implements PhysMem. The slice is cut from an array pointer
// rather than made with unsafe.Slice, whose length check costs the fault
// path a call.
func (Identity) Bytes(pa, n uint32) []byte {
	return (*[1 << 30]byte)(unsafe.Add(nil, pa))[:n:n]
}

// Bytes returns the region's window as a slice: loads and stores through
// it fault in the region's pages as they are touched, and eviction takes
// them away again. The garbage collector does not scan the window, so Go
// pointers must not be stored in it; a page whose pager answered
// data_error makes the access stop the program with a fault report (use
// ReadAt and WriteAt to get an error instead).
func (r *Region) Bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, r.start)), r.size)
}
