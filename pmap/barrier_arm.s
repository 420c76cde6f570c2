//go:build tamago

#include "textflag.h"

// ARMv7 barrier instructions, encoded as words (ARM encoding A1).

// func DSB()
TEXT ·DSB(SB),NOSPLIT,$0
	WORD	$0xf57ff04f			// DSB SY (A8.8.44)
	RET

// func ISB()
TEXT ·ISB(SB),NOSPLIT,$0
	WORD	$0xf57ff06f			// ISB SY (A8.8.53)
	RET

// func DMB()
TEXT ·DMB(SB),NOSPLIT,$0
	WORD	$0xf57ff05f			// DMB SY (A8.8.43)
	RET
