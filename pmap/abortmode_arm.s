//go:build tamago

#include "textflag.h"

// func cpsrMode() uint32
TEXT ·cpsrMode(SB),NOSPLIT,$0-4
	// B9.3.8 MRS: mrs r0, CPSR
	WORD	$0xe10f0000
	AND	$0x1f, R0
	MOVW	R0, ret+0(FP)
	RET
