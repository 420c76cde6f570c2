//go:build tamago

#include "textflag.h"

// The switches to Supervisor mode are msr CPSR_c (ARM ARM B9.3.12), with
// IRQs and FIQs masked as an exception would mask them; SP is banked
// there (Supervisor mode's is TamaGo's exception stack, or what its
// vector left in it), so the arguments are read before and the result
// stored after. Encodings as llvm-mc gives them.

// func loadInMode(addr, mode uint32) uint32
//
// R8 is 0x0505a0a0 before the switch and 0x8f1a8f1a after it: in FIQ
// mode, which banks R8-R12, only R8_fiq is the latter. In the mode, SP
// and LR (banked) are set to 0x5a5a0000 and 0xa5a50000 with the mode's
// CPSR control byte (0xd3 for Supervisor): no load or call uses them
// there.
TEXT ·loadInMode(SB),NOSPLIT,$0-12
	MOVW	addr+0(FP), R0
	MOVW	mode+4(FP), R3
	ORR	$0xc0, R3			// IRQ and FIQ masked
	MOVW	$0x0505a0a0, R8
	WORD	$0xe10f2000			// mrs r2, CPSR
	WORD	$0xe121f003			// msr CPSR_c, r3
	MOVW	$0x8f1a8f1a, R8
	MOVW	$0x5a5a0000, R13
	ORR	R3, R13
	MOVW	$0xa5a50000, R14
	ORR	R3, R14
	MOVW	(R0), R1			// the abort
	WORD	$0xe121f002			// msr CPSR_c, r2: back
	MOVW	R1, ret+8(FP)
	RET

// func branchInSupervisorMode(addr uint32)
TEXT ·branchInSupervisorMode(SB),NOSPLIT,$0-4
	MOVW	addr+0(FP), R0
	WORD	$0xe10f2000			// mrs r2, CPSR
	WORD	$0xe321f0d3			// msr CPSR_c, #0xd3: Supervisor
	WORD	$0xe12fff30			// blx r0: the abort
	WORD	$0xe121f002			// msr CPSR_c, r2: back
	RET

// func undefinedInstruction()
TEXT ·undefinedInstruction(SB),NOSPLIT,$0-0
	WORD	$0xe7f000f0			// udf #0
	RET
