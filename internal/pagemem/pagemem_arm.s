//go:build tamago && arm

#include "textflag.h"

// The VFP and Advanced SIMD instructions are WORDs: the Go assembler
// names only D0-D15. Encodings from the ARM ARM (DDI 0406C), chapter A8:
// VLDM, VSTM and VMRS; MVFR0 (Media and VFP Feature Register 0) bits
// [3:0] count the double registers. Only VFP instructions are used, so a
// core with VFPv3-D32 and no Advanced SIMD takes them too.

// func vfpRegisters() uint32
TEXT ·vfpRegisters(SB),NOSPLIT,$0-4
	WORD	$0xeef70a10	// vmrs r0, mvfr0
	AND	$0xf, R0
	MOVW	R0, ret+0(FP)
	RET

// func clearBlocks(p *byte, n uint32)
TEXT ·clearBlocks(SB),NOSPLIT,$0-8
	MOVW	p+0(FP), R0
	MOVW	n+4(FP), R1
	MOVW	$·zeros(SB), R2
	WORD	$0xecd20b20	// vldmia r2, {d16-d31}: 128 zero bytes (VFP only, no Advanced SIMD)
clear:
	WORD	$0xece00b20	// vstmia r0!, {d16-d31}: 128 bytes
	WORD	$0xece00b20
	WORD	$0xece00b20
	WORD	$0xece00b20
	WORD	$0xece00b20
	WORD	$0xece00b20
	WORD	$0xece00b20
	WORD	$0xece00b20
	SUB.S	$1, R1
	BNE	clear
	RET

// func copyBlocks(dst, src *byte, n uint32)
TEXT ·copyBlocks(SB),NOSPLIT,$0-12
	MOVW	dst+0(FP), R0
	MOVW	src+4(FP), R1
	MOVW	n+8(FP), R2
copy:
	WORD	$0xecf10b20	// vldmia r1!, {d16-d31}: 128 bytes
	WORD	$0xece00b20	// vstmia r0!, {d16-d31}
	WORD	$0xecf10b20
	WORD	$0xece00b20
	WORD	$0xecf10b20
	WORD	$0xece00b20
	WORD	$0xecf10b20
	WORD	$0xece00b20
	WORD	$0xecf10b20
	WORD	$0xece00b20
	WORD	$0xecf10b20
	WORD	$0xece00b20
	WORD	$0xecf10b20
	WORD	$0xece00b20
	WORD	$0xecf10b20
	WORD	$0xece00b20
	SUB.S	$1, R2
	BNE	copy
	RET
