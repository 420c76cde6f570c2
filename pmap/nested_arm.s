//go:build tamago

#include "textflag.h"

// The abort vectors' first instructions (nested_tamago.go): an abort taken in
// abort mode, that is inside the abort hook, is a nested abort; any other
// goes on to TamaGo's vector (arm/exception.s; for a data abort its copy
// dataAbortDirect, dataabort_arm.s) with every register as the exception
// left it. SP_abt is not needed by TamaGo's vector (it takes
// SP_usr), so only R0 needs a place while the mode is looked at:
// TPIDRPRW, the PL1-only software thread ID register (ARM ARM B4.1.150),
// which neither TamaGo nor the runtime uses. The condition flags of abort
// mode are scratch: the interrupted flags are in SPSR_abt.
//
// A nested abort does not go through TamaGo's vector: that would push its
// frame over the outer abort's (both below SP_usr) and call the hook on
// the interrupted goroutine's stack with g0 (the runtime's "morestack on
// g0"). It pushes r0-r12 and the faulting PC on the stack it interrupted
// (g0's, where the hook was running) and calls nestedAbort there, which
// reports both faults and stops the program.

#define NESTED_CHECK(NEXT)						\
	MCR	15, 0, R0, C13, C0, 4		/* TPIDRPRW = r0 */	\
	WORD	$0xe14f0000			/* mrs r0, SPSR (B9.3.8) */ \
	AND	$0x1f, R0						\
	CMP	$0x17, R0			/* interrupted mode: abort? */ \
	MRC	15, 0, R0, C13, C0, 4		/* r0 = TPIDRPRW */	\
	B.EQ	nested							\
	B	NEXT							\
nested:

#define NESTED_REPORT(OFFSET, LROFFSET)					\
	SUB	$LROFFSET, R14, R14		/* the faulting PC */	\
	MOVM.DB.W	[R0-R12, R14], (R13)	/* push {r0-r12, r14} */ \
	MOVW	R13, R1							\
	MOVW	$OFFSET, R0						\
	SUB	$12, R13, R13						\
	MOVW	R0, 4(R13)						\
	MOVW	R1, 8(R13)						\
	BL	·nestedAbort(SB)					\
	B	0(PC)				/* nestedAbort does not return */

// func dataAbortEntry()
TEXT ·dataAbortEntry(SB),NOSPLIT|NOFRAME,$0
	NESTED_CHECK(·dataAbortDirect(SB))
	NESTED_REPORT(0x10, 8)

// func prefetchAbortEntry()
TEXT ·prefetchAbortEntry(SB),NOSPLIT|NOFRAME,$0
	NESTED_CHECK(github·com∕usbarmory∕tamago∕arm·prefetchAbortHandler(SB))
	NESTED_REPORT(0x0c, 4)

// func readVBAR() uint32
TEXT ·readVBAR(SB),NOSPLIT,$0-4
	MRC	15, 0, R0, C12, C0, 0		// B4.1.156 VBAR
	MOVW	R0, ret+0(FP)
	RET

// func tamagoAbortVectors() (data, prefetch uint32)
TEXT ·tamagoAbortVectors(SB),NOSPLIT,$0-8
	MOVW	$github·com∕usbarmory∕tamago∕arm·dataAbortHandler(SB), R0
	MOVW	R0, data+0(FP)
	MOVW	$github·com∕usbarmory∕tamago∕arm·prefetchAbortHandler(SB), R0
	MOVW	R0, prefetch+4(FP)
	RET
