//go:build tamago

#include "textflag.h"

// ARM Architecture Reference Manual ARMv7-A and ARMv7-R edition,
// B4.2.2 TLB maintenance operations (Table B4-6 encodings), B4.2.1
// branch predictor maintenance.

// func TLBInvalidateMVA(va uint32)
TEXT ·TLBInvalidateMVA(SB),NOSPLIT,$0-4
	MOVW	va+0(FP), R0
	BIC	$0xfff, R0			// MVA[31:12], ASID 0 in [7:0]
	MCR	15, 0, R0, C8, C7, 1		// TLBIMVA
	RET

// func TLBInvalidateMVAAllASID(va uint32)
TEXT ·TLBInvalidateMVAAllASID(SB),NOSPLIT,$0-4
	MOVW	va+0(FP), R0
	BIC	$0xfff, R0
	MCR	15, 0, R0, C8, C7, 3		// TLBIMVAA
	RET

// func TLBInvalidateAll()
TEXT ·TLBInvalidateAll(SB),NOSPLIT,$0
	MOVW	$0, R0
	MCR	15, 0, R0, C8, C7, 0		// TLBIALL
	RET

// func BranchPredictorInvalidateAll()
TEXT ·BranchPredictorInvalidateAll(SB),NOSPLIT,$0
	MOVW	$0, R0
	MCR	15, 0, R0, C7, C5, 6		// BPIALL
	RET
