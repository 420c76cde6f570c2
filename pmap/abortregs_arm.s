//go:build tamago

#include "textflag.h"

// ARM Architecture Reference Manual ARMv7-A and ARMv7-R edition, B4.1.

// func ReadDFSR() uint32
TEXT ·ReadDFSR(SB),NOSPLIT,$0-4
	MRC	15, 0, R0, C5, C0, 0		// B4.1.52 DFSR
	MOVW	R0, ret+0(FP)
	RET

// func ReadDFAR() uint32
TEXT ·ReadDFAR(SB),NOSPLIT,$0-4
	MRC	15, 0, R0, C6, C0, 0		// B4.1.53 DFAR
	MOVW	R0, ret+0(FP)
	RET

// func ReadIFSR() uint32
TEXT ·ReadIFSR(SB),NOSPLIT,$0-4
	MRC	15, 0, R0, C5, C0, 1		// B4.1.96 IFSR
	MOVW	R0, ret+0(FP)
	RET

// func ReadIFAR() uint32
TEXT ·ReadIFAR(SB),NOSPLIT,$0-4
	MRC	15, 0, R0, C6, C0, 2		// B4.1.97 IFAR
	MOVW	R0, ret+0(FP)
	RET
