//go:build tamago

#include "textflag.h"

// The upkeep of one descriptor (upkeep.go; package doc, "Upkeep
// sequences"), one function per sequence. ARM ARM B3.10.1 (TLB
// maintenance after a descriptor change), B4.2.1 (DCCMVAC, BPIALL),
// B4.2.2 (TLBIMVA), A8.8.44 DSB, A8.8.53 ISB. The barriers are words, as
// in barrier_arm.s.

// func syncNewEntry(desc, va uint32)
TEXT ·syncNewEntry(SB),NOSPLIT,$0-8
	MOVW	desc+0(FP), R0
	MCR	15, 0, R0, C7, C10, 1		// DCCMVAC
	WORD	$0xf57ff04f			// DSB SY
	WORD	$0xf57ff06f			// ISB SY
	RET

// func syncChangedEntry(desc, va uint32)
TEXT ·syncChangedEntry(SB),NOSPLIT,$0-8
	MOVW	desc+0(FP), R0
	MOVW	va+4(FP), R1
	MCR	15, 0, R0, C7, C10, 1		// DCCMVAC
	BIC	$0xfff, R1			// MVA[31:12], ASID 0
	WORD	$0xf57ff04f			// DSB SY
	MCR	15, 0, R1, C8, C7, 1		// TLBIMVA
	WORD	$0xf57ff04f			// DSB SY
	WORD	$0xf57ff06f			// ISB SY
	RET

// func syncReplacedEntry(desc, va uint32)
TEXT ·syncReplacedEntry(SB),NOSPLIT,$0-8
	MOVW	desc+0(FP), R0
	MOVW	va+4(FP), R1
	MCR	15, 0, R0, C7, C10, 1		// DCCMVAC
	BIC	$0xfff, R1			// MVA[31:12], ASID 0
	MOVW	$0, R2
	WORD	$0xf57ff04f			// DSB SY
	MCR	15, 0, R1, C8, C7, 1		// TLBIMVA
	MCR	15, 0, R2, C7, C5, 6		// BPIALL
	WORD	$0xf57ff04f			// DSB SY
	WORD	$0xf57ff06f			// ISB SY
	RET
