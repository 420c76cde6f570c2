//go:build tamago

#include "textflag.h"

// func EnableAccessFlag()
TEXT ·EnableAccessFlag(SB),NOSPLIT,$0
	WORD	$0xf57ff04f			// DSB SY (A8.8.44)
	// B4.1.130 SCTLR, bit 29 AFE
	MRC	15, 0, R0, C1, C0, 0
	ORR	$(1<<29), R0
	MCR	15, 0, R0, C1, C0, 0
	WORD	$0xf57ff06f			// ISB SY (A8.8.53)
	MOVW	$0, R0
	MCR	15, 0, R0, C8, C7, 0		// TLBIALL (B4.2.2)
	MCR	15, 0, R0, C7, C5, 6		// BPIALL (B4.2.1)
	WORD	$0xf57ff04f			// DSB SY
	WORD	$0xf57ff06f			// ISB SY
	RET
