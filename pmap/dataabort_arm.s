//go:build tamago

#include "textflag.h"

// The data abort vector while the abort hook is installed, after the
// nested-abort check (nested_arm.s): TamaGo's own (arm/exception.s,
// EXCEPTION with its frame of r0-r12 and the faulting PC below SP_usr,
// then runtime.CallOnG0) with the hook's Go function called directly,
// not through arm.systemException and the arm.SystemExceptionHandler
// closure. The frame is TamaGo's, word for word, so that everything that
// reads or changes it (SkipFaultingInstruction, YieldOnReturn, the fault
// report) works the same. ARM ARM B1.8.1 (exception entry: LR_abt is the
// aborting instruction's address + 8 for a data abort, B1.8.9 Table
// B1-7), B1.8.3 (return: SUBS PC, LR form, here MOVS PC, LR after LR is
// corrected, which copies SPSR_abt to CPSR). Abort mode does not bank
// R10 (g), so TamaGo's "restore g" step, taken only for FIQ's banked
// registers, is not needed.

// func dataAbortDirect()
TEXT ·dataAbortDirect(SB),NOSPLIT|NOFRAME,$0
	WORD	$0xe105d200			// mrs sp, SP_usr (B9.3.9)
	SUB	$8, R14, R14			// the aborting instruction
	MOVM.DB.W	[R0-R12, R14], (R13)	// push {r0-r12, r14}
	MOVW	$0x10, R0			// arm.DATA_ABORT
	MOVW	$·handleException(SB), R1
	MOVW	$56, R2				// the frame's size
	MOVW	R14, R3
	CALL	runtime·CallOnG0(SB)
	MOVM.IA.W	(R13), [R0-R12, R14]	// pop {r0-r12, r14}
	MOVW.S	R14, R15			// return, CPSR = SPSR_abt
