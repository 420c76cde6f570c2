//go:build tamago

#include "textflag.h"

// func readLRusr() uint32
TEXT ·readLRusr(SB),NOSPLIT,$0-4
	// B9.3.9 MRS (banked register): mrs r0, LR_usr
	WORD	$0xe1060200
	MOVW	R0, ret+0(FP)
	RET

// func readSPSR() uint32
TEXT ·readSPSR(SB),NOSPLIT,$0-4
	// B9.3.8 MRS: mrs r0, SPSR
	WORD	$0xe14f0000
	MOVW	R0, ret+0(FP)
	RET

// func dataAbortContext() (fsr, far, sp, g0 uint32)
TEXT ·dataAbortContext(SB),NOSPLIT,$0-16
	MRC	15, 0, R0, C5, C0, 0		// B4.1.52 DFSR
	MRC	15, 0, R1, C6, C0, 0		// B4.1.53 DFAR
	WORD	$0xe1052200			// mrs r2, SP_usr (B9.3.9)
	MOVW	R0, fsr+0(FP)
	MOVW	R1, far+4(FP)
	MOVW	R2, sp+8(FP)
	MOVW	g, g0+12(FP)
	RET

// func prefetchAbortContext() (fsr, far, sp, g0 uint32)
TEXT ·prefetchAbortContext(SB),NOSPLIT,$0-16
	MRC	15, 0, R0, C5, C0, 1		// B4.1.96 IFSR
	MRC	15, 0, R1, C6, C0, 2		// B4.1.97 IFAR
	WORD	$0xe1052200			// mrs r2, SP_usr (B9.3.9)
	MOVW	R0, fsr+0(FP)
	MOVW	R1, far+4(FP)
	MOVW	R2, sp+8(FP)
	MOVW	g, g0+12(FP)
	RET
