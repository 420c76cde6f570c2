//go:build tamago

package pmap

// Translation-table base and control readers, and the cache type.

// defined in regs_arm.s

// ReadTTBR0 returns TTBR0 (B4.1.154): the L1 table address in
// bits[31:14] (TTBCR.N=0) and the walk attributes in bits[6:0].
func ReadTTBR0() uint32

// ReadTTBCR returns TTBCR (B4.1.153); N (bits[2:0]) is 0 under TamaGo.
func ReadTTBCR() uint32

// ReadDACR returns the Domain Access Control Register (B4.1.43).
func ReadDACR() uint32

// ReadSCTLR returns the System Control Register (B4.1.130).
func ReadSCTLR() uint32

// ReadCTR returns the Cache Type Register (B4.1.42).
func ReadCTR() uint32

// DCacheLineSize returns the smallest data cache line in bytes, from
// CTR.DminLine (bits[19:16], log2 of the line in words).
func DCacheLineSize() uint32 {
	return 4 << (ReadCTR() >> 16 & 0xf)
}
