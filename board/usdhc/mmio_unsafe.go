//go:build tamago

package usdhc

import (
	"sync/atomic"
	"unsafe"
)

// Controller base addresses (IMX6ULRM 2.2, "ARM Platform Memory Map").
// On the USB armory Mk II the microSD slot is USDHC1 and the eMMC
// USDHC2; on QEMU's mcimx6ul-evk, -drive if=sd,index=0 is USDHC1 and
// index=1 USDHC2.
const (
	USDHC1 = 0x02190000
	USDHC2 = 0x02194000
)

// ccmCCGR6 is the clock gating register of the uSDHC clocks: CG1
// (bits 3:2) usdhc1, CG2 (bits 5:4) usdhc2 (IMX6ULRM 18.6.29).
const ccmCCGR6 = 0x020c4080

// MMIO is the register file of the controller at base, a physical
// address that TamaGo maps flat as device memory.
type MMIO uint32

// Read implements Regs with a 32-bit load.
func (m MMIO) Read(off uint32) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Add(nil, uintptr(uint32(m)+off))))
}

// Write implements Regs with a 32-bit store.
func (m MMIO) Write(off uint32, v uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Add(nil, uintptr(uint32(m)+off))), v)
}

// defined in mmio_arm.s
func readWords(port uint32, p unsafe.Pointer, n int)
func writeWords(port uint32, p unsafe.Pointer, n int)

// ReadWords implements WordPort: a load loop in assembly. p must be
// word aligned (the caller falls back to Read otherwise) and its length
// a multiple of 4; the words are stored as loaded, little endian.
func (m MMIO) ReadWords(off uint32, p []byte) {
	if len(p) >= 4 {
		readWords(uint32(m)+off, unsafe.Pointer(&p[0]), len(p)/4)
	}
}

// WriteWords implements WordPort: a store loop in assembly.
func (m MMIO) WriteWords(off uint32, p []byte) {
	if len(p) >= 4 {
		writeWords(uint32(m)+off, unsafe.Pointer(&p[0]), len(p)/4)
	}
}

// EnableClock ungates the clock of the controller at base (USDHC1 or
// USDHC2) in CCM_CCGR6: on in all modes (0b11).
func EnableClock(base uint32) {
	shift := uint32(2)
	if base == USDHC2 {
		shift = 4
	}
	g := MMIO(ccmCCGR6)
	g.Write(0, g.Read(0)|3<<shift)
}

// Open ungates the controller's clock and brings up its card.
func Open(base uint32, cfg Config) (*Card, error) {
	EnableClock(base)
	return Init(MMIO(base), cfg)
}
