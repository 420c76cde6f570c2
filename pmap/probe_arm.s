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
