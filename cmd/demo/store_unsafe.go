//go:build tamago

package main

import (
	"unsafe"

	"github.com/tamach/tamach/board"
)

// regionBytes returns the bytes of a physical region of the board: TamaGo
// maps physical memory flat, and the board maps its frame pool and store
// regions as normal memory, so the region's bytes are at its address.
func regionBytes(r board.Region) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(nil, r.Start)), r.Size)
}

// load reads the byte at addr, as the console's touch does.
//
//go:noinline
func load(addr uint32) byte {
	return *(*byte)(unsafe.Add(nil, addr))
}
