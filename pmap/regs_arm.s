//go:build tamago

#include "textflag.h"

// ARM Architecture Reference Manual ARMv7-A and ARMv7-R edition,
// B4.1 (system control registers, CP15 encodings of Table B3-42).

// func ReadTTBR0() uint32
TEXT ·ReadTTBR0(SB),NOSPLIT,$0-4
	// B4.1.154 TTBR0: MRC p15, 0, <Rt>, c2, c0, 0
	MRC	15, 0, R0, C2, C0, 0
	MOVW	R0, ret+0(FP)
	RET

// func ReadTTBCR() uint32
TEXT ·ReadTTBCR(SB),NOSPLIT,$0-4
	// B4.1.153 TTBCR: MRC p15, 0, <Rt>, c2, c0, 2
	MRC	15, 0, R0, C2, C0, 2
	MOVW	R0, ret+0(FP)
	RET

// func ReadDACR() uint32
TEXT ·ReadDACR(SB),NOSPLIT,$0-4
	// B4.1.43 DACR: MRC p15, 0, <Rt>, c3, c0, 0
	MRC	15, 0, R0, C3, C0, 0
	MOVW	R0, ret+0(FP)
	RET

// func ReadSCTLR() uint32
TEXT ·ReadSCTLR(SB),NOSPLIT,$0-4
	// B4.1.130 SCTLR: MRC p15, 0, <Rt>, c1, c0, 0
	MRC	15, 0, R0, C1, C0, 0
	MOVW	R0, ret+0(FP)
	RET

// func ReadCTR() uint32
TEXT ·ReadCTR(SB),NOSPLIT,$0-4
	// B4.1.42 CTR: MRC p15, 0, <Rt>, c0, c0, 1
	MRC	15, 0, R0, C0, C0, 1
	MOVW	R0, ret+0(FP)
	RET
