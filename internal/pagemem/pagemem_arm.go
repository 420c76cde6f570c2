//go:build tamago && arm

package pagemem

import "unsafe"

// fast says the CPU has the 32 double registers Clear and Copy use
// (MVFR0.A_SIMD_registers == 2, ARM ARM B6.1.63).
var fast = vfpRegisters() == 2

func aligned(p *byte) bool { return uintptr(unsafe.Pointer(p))&3 == 0 }

// zeros is what clearBlocks loads into D16-D31 to store.
var zeros [128]byte

// defined in pagemem_arm.s

// vfpRegisters returns MVFR0[3:0]: 2 for 32 double registers.
func vfpRegisters() uint32

// clearBlocks zeroes n blocks of Block bytes at p (word aligned).
//
//go:noescape
func clearBlocks(p *byte, n uint32)

// copyBlocks copies n blocks of Block bytes from src to dst (word
// aligned, not overlapping).
//
//go:noescape
func copyBlocks(dst, src *byte, n uint32)
