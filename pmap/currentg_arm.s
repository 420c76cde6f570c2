//go:build tamago

#include "textflag.h"

// func currentG() uint32
TEXT ·currentG(SB),NOSPLIT,$0-4
	MOVW	g, R0				// R10: the g register of Go code
	MOVW	R0, ret+0(FP)
	RET
