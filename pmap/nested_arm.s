//go:build tamago

#include "textflag.h"

// The abort vectors' entries, with the check of the interrupted mode,
// are in dataabort_arm.s.

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
