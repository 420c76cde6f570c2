//go:build tamago

package main

import "unsafe"

// wordAt is the 32-bit word at off in mapped memory, for sync/atomic.
// off must be 4-aligned and within mem.
func wordAt(mem []byte, off uintptr) *uint32 {
	_ = mem[off+3]
	return (*uint32)(unsafe.Pointer(&mem[off]))
}
