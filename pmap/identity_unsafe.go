//go:build tamago

package pmap

import "unsafe"

// Identity is the PhysMem of the target: TamaGo maps all memory flat, so
// a table's physical address is its address. The L1 table is the one
// TTBR0 points at.
type Identity struct {
	l1pa uint32
	l1   *[4096]uint32
}

// NewIdentity returns the PhysMem for the L1 table in TTBR0 (TTBCR.N=0).
func NewIdentity() *Identity {
	pa := ReadTTBR0() &^ 0x3fff
	return &Identity{l1pa: pa, l1: (*[4096]uint32)(physPtr(pa))}
}

// L1 implements PhysMem.
func (m *Identity) L1() (uint32, *[4096]uint32) { return m.l1pa, m.l1 }

// Table implements PhysMem.
func (m *Identity) Table(pa uint32) *[256]uint32 {
	if pa&0x3ff != 0 || pa == 0 {
		return nil
	}
	return (*[256]uint32)(physPtr(pa))
}

// physPtr returns a pointer to the identity-mapped address pa. Memory
// outside the Go heap: the garbage collector ignores such pointers.
func physPtr(pa uint32) unsafe.Pointer {
	a := uintptr(pa)
	return *(*unsafe.Pointer)(unsafe.Pointer(&a))
}
