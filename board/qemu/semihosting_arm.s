//go:build tamago

#include "textflag.h"

// func semihostingCall(op uint32, arg uintptr) int32
//
// An AArch32 semihosting call in ARM state is SVC 0x123456 with the
// operation in R0 and its parameter block in R1; the result comes back in
// R0 (Arm IHI 0056, 4.1 "The semihosting interface").
TEXT ·semihostingCall(SB),NOSPLIT,$0-12
	MOVW	op+0(FP), R0
	MOVW	arg+4(FP), R1
	SWI	$0x123456
	MOVW	R0, ret+8(FP)
	RET
