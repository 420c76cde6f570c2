//go:build tamago

#include "textflag.h"

// ARM Architecture Reference Manual ARMv7-A and ARMv7-R edition,
// B4.2.1 cache and branch predictor maintenance operations (Table B4-5).

// func DCacheCleanMVA(addr uint32)
TEXT ·DCacheCleanMVA(SB),NOSPLIT,$0-4
	MOVW	addr+0(FP), R0
	MCR	15, 0, R0, C7, C10, 1		// DCCMVAC
	RET

// func DCacheCleanInvalidateMVA(addr uint32)
TEXT ·DCacheCleanInvalidateMVA(SB),NOSPLIT,$0-4
	MOVW	addr+0(FP), R0
	MCR	15, 0, R0, C7, C14, 1		// DCCIMVAC
	RET

// func DCacheCleanMVAU(addr uint32)
TEXT ·DCacheCleanMVAU(SB),NOSPLIT,$0-4
	MOVW	addr+0(FP), R0
	MCR	15, 0, R0, C7, C11, 1		// DCCMVAU
	RET

// func ICacheInvalidateAll()
TEXT ·ICacheInvalidateAll(SB),NOSPLIT,$0
	MOVW	$0, R0
	MCR	15, 0, R0, C7, C5, 0		// ICIALLU
	RET

// func ICacheInvalidateMVA(addr uint32)
TEXT ·ICacheInvalidateMVA(SB),NOSPLIT,$0-4
	MOVW	addr+0(FP), R0
	MCR	15, 0, R0, C7, C5, 1		// ICIMVAU
	RET
