//go:build tamago

#include "textflag.h"

// func ReadSPusr() uint32
TEXT ·ReadSPusr(SB),NOSPLIT,$0-4
	// B9.3.9 MRS (banked register): mrs r0, SP_usr
	WORD	$0xe1050200
	MOVW	R0, ret+0(FP)
	RET

// faultYield runs on the faulting goroutine after the abort returns to
// it, every register as at the fault: it makes the goroutine look as if
// it had called runtime.asyncPreempt at the faulting PC (as the runtime's
// pushCall does for a signal), so it yields and then retries.
TEXT ·faultYield(SB),NOSPLIT|NOFRAME,$0
	MOVW.W	R14, -4(R13)			// push LR: asyncPreempt restores it
	MOVW	$·faultYieldPC(SB), R14
	MOVW	(R14), R14			// LR = faulting PC
	B	runtime·asyncPreempt(SB)
