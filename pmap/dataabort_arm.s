//go:build tamago

#include "go_asm.h"
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
// registers, is not needed: R10 is the interrupted context's g.
//
// Before the call it decodes the abort into abortHook, as DecodeData and
// canYield do in Go (abort_tamago.go; the two must agree): the fault
// (DFAR, DFSR with its FS code's kind and level from fsClass, WnR as the
// access, the interrupted g), the FS code, the interrupted SP_usr and
// whether that context cannot yield (onG0). DFSR: B4.1.52, FS encodings
// Table B3-23; DFAR: B4.1.53. Whether the interrupted g is g0 is seen
// on g0 (dispatchOnG0), where the g register holds it.

// func dataAbortDirect()
TEXT ·dataAbortDirect(SB),NOSPLIT|NOFRAME,$0
	WORD	$0xe105d200			// mrs sp, SP_usr (B9.3.9)
	SUB	$8, R14, R14			// the aborting instruction
	MOVM.DB.W	[R0-R12, R14], (R13)	// push {r0-r12, r14}
	MRC	15, 0, R0, C5, C0, 0		// DFSR
	MRC	15, 0, R1, C6, C0, 0		// DFAR
	MOVW	$·abortHook(SB), R4
	MOVW	R1, (abortHookState_fault+Fault_Addr)(R4)
	MOVW	R0, (abortHookState_fault+Fault_Status)(R4)
	MOVW	g, (abortHookState_fault+Fault_G)(R4)
	AND	$15, R0, R2			// FS = DFSR[10]:DFSR[3:0]
	MOVW	R0>>6, R3
	AND	$16, R3, R3
	ORR	R3, R2, R2
	MOVW	R2, abortHookState_fs(R4)
	MOVW	$·fsClass(SB), R3		// 2 bytes an entry: kind, level
	ADD	R2<<1, R3, R3
	MOVBU	0(R3), R5
	MOVB	R5, (abortHookState_fault+Fault_Kind)(R4)
	MOVBU	1(R3), R5
	MOVB	R5, (abortHookState_fault+Fault_Level)(R4)
	MOVW	R0>>11, R5			// DFSR.WnR: Write (1), Read (0)
	AND	$1, R5
	MOVB	R5, (abortHookState_fault+Fault_Access)(R4)
	ADD	$(const_frameWords*4), R13, R3	// the interrupted SP_usr
	MOVW	R3, abortHookState_sp(R4)
	MOVW	$1, R5				// onG0 unless canYield:
	CMP	$0, g				// a g (not g0: dispatchOnG0),
	B.EQ	decoded
	MOVW	0(g), R6			// above g.stack.lo,
	CMP	R6, R3
	B.LS	decoded
	SUB	R6, R3, R6			// with room to yield
	CMP	$(const_frameWords*4+const_yieldRoom), R6
	B.LO	decoded
	MOVW	$0, R5
decoded:
	MOVB	R5, abortHookState_onG0(R4)
	MOVW	$0x10, R0			// arm.DATA_ABORT
	MOVW	$·dispatchOnG0(SB), R1
	MOVW	$56, R2				// the frame's size
	MOVW	R14, R3
	CALL	runtime·CallOnG0(SB)
	MOVM.IA.W	(R13), [R0-R12, R14]	// pop {r0-r12, r14}
	MOVW.S	R14, R15			// return, CPSR = SPSR_abt

// dispatchOnG0 is called by runtime.CallOnG0 on g0 in place of
// dispatchAbort, with its argument: it completes onG0 (an abort taken on
// g0 cannot yield) and goes on to dispatchAbort, its argument in place.
TEXT ·dispatchOnG0(SB),NOSPLIT|NOFRAME,$0
	MOVW	$·abortHook(SB), R4
	MOVW	(abortHookState_fault+Fault_G)(R4), R5
	CMP	R5, g
	MOVW.EQ	$1, R5
	MOVB.EQ	R5, abortHookState_onG0(R4)
	B	·dispatchAbort(SB)
