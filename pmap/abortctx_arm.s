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
