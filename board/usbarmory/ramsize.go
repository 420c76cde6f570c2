//go:build tamago && linkramsize

package usbarmory

import _ "unsafe"

// ramSize limits the Go runtime to Layout.Runtime; the rest of DDR belongs
// to the frame pool and the store (see Layout).
//
//go:linkname ramSize runtime/goos.RamSize
var ramSize uint32 = RuntimeRAMSize
