//go:build tamago

package store

import "unsafe"

// PhysBytes returns the memory at physical address start as a slice of
// size bytes, for a RAM store over a region the board reserves for paging
// (board.Layout.Store). TamaGo maps physical memory flat, so the bytes
// are at their physical address; the board must map the region as
// normal memory (cached, never faulting) and it must lie outside every
// vm window and outside the Go runtime's RAM. The garbage collector does
// not scan it: no Go pointers may be stored there.
func PhysBytes(start, size uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, uintptr(start))), size)
}
