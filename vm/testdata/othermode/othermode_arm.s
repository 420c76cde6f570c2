//go:build tamago

#include "textflag.h"

// The switches to Supervisor mode are msr CPSR_c (ARM ARM B9.3.12), with
// IRQs and FIQs masked as an exception would mask them; SP is banked
// there (Supervisor mode's is TamaGo's exception stack, or what its
// vector left in it), so the arguments are read before and the result
// stored after. Encodings as llvm-mc gives them.

// func loadInSupervisorMode(addr uint32) uint32
TEXT ·loadInSupervisorMode(SB),NOSPLIT,$0-8
	MOVW	addr+0(FP), R0
	WORD	$0xe10f2000			// mrs r2, CPSR
	WORD	$0xe321f0d3			// msr CPSR_c, #0xd3: Supervisor
	MOVW	(R0), R1			// the abort
	WORD	$0xe121f002			// msr CPSR_c, r2: back
	MOVW	R1, ret+4(FP)
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
