//go:build tamago

#include "textflag.h"

// func readWords(port uint32, p unsafe.Pointer, n int)
//
// n 32-bit loads from the register at port into the words at p: the
// buffer data port of IMX6ULRM 58.8.8, drained one watermark at a time.
TEXT ·readWords(SB),NOSPLIT,$0-12
	MOVW	port+0(FP), R0
	MOVW	p+4(FP), R1
	MOVW	n+8(FP), R2
	CMP	$0, R2
	BEQ	rdone
rloop:
	MOVW	(R0), R3
	MOVW.P	R3, 4(R1)
	SUB.S	$1, R2
	BNE	rloop
rdone:
	RET

// func writeWords(port uint32, p unsafe.Pointer, n int)
//
// n 32-bit stores of the words at p to the register at port.
TEXT ·writeWords(SB),NOSPLIT,$0-12
	MOVW	port+0(FP), R0
	MOVW	p+4(FP), R1
	MOVW	n+8(FP), R2
	CMP	$0, R2
	BEQ	wdone
wloop:
	MOVW.P	4(R1), R3
	MOVW	R3, (R0)
	SUB.S	$1, R2
	BNE	wloop
wdone:
	RET
