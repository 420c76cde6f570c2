//go:build tamago

#include "textflag.h"

// func probeLoad(va uint32) uint32
TEXT ·probeLoad(SB),NOSPLIT,$0-8
	MOVW	va+0(FP), R1
	MOVW	$0xdeadbeef, R0
	MOVW	(R1), R0	// the probed load
	MOVW	R0, ret+4(FP)
	RET

// func probeStore(va, v uint32)
TEXT ·probeStore(SB),NOSPLIT,$0-8
	MOVW	va+0(FP), R1
	MOVW	v+4(FP), R0
	MOVW	R0, (R1)	// the probed store
	RET

// func probeExec(va uint32) uint32
TEXT ·probeExec(SB),NOSPLIT,$4-8
	MOVW	va+0(FP), R1
	MOVW	$0, R0
	BL	(R1)		// the probed call: r0 is what the code at va leaves
	MOVW	R0, ret+4(FP)
	RET

// func returnToSystemMode()
TEXT ·returnToSystemMode(SB),NOSPLIT,$0-0
	WORD	$0xe14f0000			// mrs r0, SPSR (B9.3.8)
	ORR	$0x1f, R0			// M = System
	WORD	$0xe161f000			// msr SPSR_c, r0 (B9.3.12)
	RET

// func probeExecWith(va, r1 uint32) uint32
TEXT ·probeExecWith(SB),NOSPLIT,$4-12
	MOVW	va+0(FP), R2
	MOVW	r1+4(FP), R1
	MOVW	$0, R0
	BL	(R2)		// the probed call, with r1
	MOVW	R0, ret+8(FP)
	RET
