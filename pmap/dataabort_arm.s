//go:build tamago

#include "go_asm.h"
#include "textflag.h"

// The data abort vector while the abort hook is installed, after the
// check of the interrupted mode. It keeps TamaGo's frame (arm/
// exception.s, EXCEPTION: r0-r12 and the faulting PC below SP_usr), word
// for word, so that everything that reads or changes it
// (SkipFaultingInstruction, YieldOnReturn, the fault report) works the
// same; it decodes the abort into abortHook, as DecodeData and canYield
// do in Go (abort_tamago.go; the two must agree), switches to g0 itself
// and calls dispatchAbort there.
//
// ARM ARM B1.8.1 (exception entry: LR_abt is the aborting instruction's
// address + 8 for a data abort, B1.8.9 Table B1-7), B1.8.3 (return: here
// MOVS PC, LR after LR is corrected, which copies SPSR_abt to CPSR).
// Abort mode does not bank R10 (g): R10 is the interrupted context's g.
// DFSR: B4.1.52, FS encodings Table B3-23; DFAR: B4.1.53.
//
// The switch to g0 is runtime.CallOnG0's (TamaGo's runtime,
// sys_tamago_arm.s), without its detour through a function value and a
// saved offset: the interrupted g's sched records where it stopped (sp,
// pc and lr; sched.g is the g itself from its creation, runtime.newproc1:
// the runtime's tracebacks read them while it is off its stack), g becomes g0, SP g0's sched.sp below a return address into
// runtime.mstart (tracebacks stop there), and after the call sched.sp is
// cleared again. g0 is abortHook.g0, read through the running g's m at
// install (g0Of, which checks the runtime's layout); the offsets are the
// runtime's g, gobuf and m of the toolchain the module pins
// (runtime/runtime2.go), checked on the target against CallOnG0's own
// writes (TestRuntimeLayoutMatchesCallOnG0).

// The abort vectors' first instructions (nested_tamago.go) sort aborts
// by the mode they were taken in, SPSR_abt.M (ARM ARM B1.3.1, Table
// B1-1). System mode (0x1f), where TamaGo runs Go code, is the first and
// only compare on the way on; User mode (0x10) goes on too, after two
// more: dataAbortEntry's own vector for a data abort, TamaGo's (arm/
// exception.s) for a prefetch abort, with every register as the
// exception left it but SP_abt, which neither needs (both take SP_usr).
// An abort from abort mode, that is inside the abort hook, is a nested
// abort; one from any other mode (IRQ, FIQ, Supervisor, Undefined,
// Monitor: an interrupt handler or exception code touching window memory
// or a bad address) is reported (otherModeEntry). SP_abt is the check's
// scratch register, kept meanwhile in TPIDRPRW, the PL1-only software
// thread ID register (ARM ARM B4.1.150), which neither TamaGo nor the
// runtime uses. The condition flags of abort mode are scratch too: the
// interrupted flags are in SPSR_abt.
//
// A nested abort does not go through a vector: that would push its frame
// over the outer abort's (both below SP_usr) and call the hook on the
// interrupted goroutine's stack with g0 (the runtime's "morestack on
// g0"). It takes SP_abt back, pushes r0-r12 and the faulting PC on the
// stack it interrupted (g0's, where the hook was running) and calls
// nestedAbort there, which reports both faults and stops the program.
//
// An abort from another exception mode does not go through a vector
// either: the vector would push its frame below SP_usr, the stack of
// whatever goroutine that mode interrupted, and run the handler as if
// that goroutine had faulted. Neither the abort nor the code it
// interrupted can be resumed in general (that code runs with IRQs
// masked, often on g0, between an exception's entry and return), so the
// program stops with the fault report (otherModeReport).

#define ENTRY_CHECK							\
	MCR	15, 0, R13, C13, C0, 4		/* TPIDRPRW = SP_abt */	\
	WORD	$0xe14fd000			/* mrs sp, SPSR (B9.3.8) */ \
	AND	$0x1f, R13						\
	CMP	$0x1f, R13			/* interrupted mode: System? */ \
	B.NE	other

// OTHER_MODES ends the entries: User mode goes on (user), abort mode is
// a nested abort, any other mode is reported.
#define OTHER_MODES(OFFSET, LROFFSET)					\
	CMP	$0x10, R13			/* User */		\
	B.EQ	user							\
	CMP	$0x17, R13			/* abort: nested */	\
	B.EQ	nested							\
	MOVW	$·otherMode(SB), R13					\
	SUB	$LROFFSET, R14, R14		/* the faulting PC */	\
	MOVM.IA	[R0-R12, R14], (R13)	/* otherMode.frame */	\
	MOVW	$OFFSET, R0						\
	B	·otherModeEntry(SB)

#define NESTED_REPORT(OFFSET, LROFFSET)					\
	MRC	15, 0, R13, C13, C0, 4		/* SP_abt = TPIDRPRW */	\
	SUB	$LROFFSET, R14, R14		/* the faulting PC */	\
	MOVM.DB.W	[R0-R12, R14], (R13)	/* push {r0-r12, r14} */ \
	MOVW	R13, R1							\
	MOVW	$OFFSET, R0						\
	SUB	$12, R13, R13						\
	MOVW	R0, 4(R13)						\
	MOVW	R1, 8(R13)						\
	BL	·nestedAbort(SB)					\
	B	0(PC)				/* nestedAbort does not return */

// func prefetchAbortEntry()
TEXT ·prefetchAbortEntry(SB),NOSPLIT|NOFRAME,$0
	ENTRY_CHECK
user:
	B	github·com∕usbarmory∕tamago∕arm·prefetchAbortHandler(SB)
other:
	OTHER_MODES(0x0c, 4)
nested:
	NESTED_REPORT(0x0c, 4)

#define g_stack_lo	0
#define g_stack_hi	4
#define g_m		24
#define g_sched_sp	28
#define g_sched_pc	32
#define g_sched_g	36
#define g_sched_lr	44
#define m_g0		0

// func dataAbortEntry()
TEXT ·dataAbortEntry(SB),NOSPLIT|NOFRAME,$0
	ENTRY_CHECK
user:
	WORD	$0xe105d200			// mrs sp, SP_usr (B9.3.9)
	SUB	$8, R14, R14			// the aborting instruction
	MOVM.DB.W	[R0-R12, R14], (R13)	// push {r0-r12, r14}
	MRC	15, 0, R0, C5, C0, 0		// DFSR
	MRC	15, 0, R1, C6, C0, 0		// DFAR
	MOVW	$·abortHook(SB), R4
	MOVW	R1, (abortHookState_fault+Fault_Addr)(R4)
	MOVW	R0, (abortHookState_fault+Fault_Status)(R4)
	MOVW	g, (abortHookState_fault+Fault_G)(R4)
	AND	$15, R0, R2			// FS[3:0] = DFSR[3:0]
	MOVW	R0>>6, R3			// FS[4] = DFSR[10], WnR = DFSR[11]
	AND	$0x30, R3, R3
	ORR	R3, R2, R2			// FS | WnR<<5
	MOVW	$·faultWords(SB), R3		// Access, Kind, Level: one word
	MOVW	R2<<2(R3), R5
	MOVW	R5, (abortHookState_fault+Fault_Access)(R4)
	AND	$31, R2, R2			// FS
	ADD	$(const_frameWords*4), R13, R3	// the interrupted SP_usr
	MOVW	R3, abortHookState_sp(R4)
	MOVW	abortHookState_g0(R4), R6
	MOVW	$1, R5				// onG0 unless canYield:
	CMP	R6, g				// not g0 (no switch then),
	B.EQ	ong0
	MOVW	g_stack_lo(g), R7		// with room to yield above
	SUB	R7, R3, R7			// g.stack.lo (SP_usr < lo is not
	CMP	$(const_frameWords*4+const_yieldRoom), R7	// a goroutine's)
	MOVW.HS	$0, R5
	MOVB	R5, abortHookState_onG0(R4)
	MOVW	R3, g_sched_sp(g)
	MOVW	R14, g_sched_pc(g)
	MOVW	R14, g_sched_lr(g)		// sched.g is g already
	MOVW	R6, g				// g0
	MOVW	g_sched_sp(g), R13
	MOVW	$runtime·mstart(SB), R7
	MOVW.W	R7, -20(R13)			// "called from mstart", 4 words of arguments
	// Dispatcher.Dispatch's rules, as dispatchAbort applies them, with
	// its common case here: the handler called through its interface
	// (the itab's first method, the only one of FaultHandler) and
	// Retry counted. Everything else is dispatchAbort's (slow), or
	// dispatchResolution's for an answer other than Retry.
	CMP	$const_FSAsyncExternal, R2	// a synchronous abort,
	B.EQ	slow
	CMP	$const_FSAsyncParity, R2
	B.EQ	slow
	MOVW	abortHookState_d(R4), R6
	MOVW	Dispatcher_h(R6), R0		// a handler:
	CMP	$0, R0
	B.EQ	slow
	MOVW	const_itabFun0(R0), R0		// HandleFault(receiver, f, onG0)
	MOVW	(Dispatcher_h+4)(R6), R1
	MOVW	R1, 4(R13)
	ADD	$abortHookState_fault, R4, R1
	MOVW	R1, 8(R13)
	MOVB	R5, 12(R13)
	BL	(R0)
	MOVBU	16(R13), R0
	CMP	$const_Retry, R0
	B.NE	resolved
	MOVW	$·abortHook(SB), R4		// Counts[Retry]++
	MOVW	abortHookState_d(R4), R6
	MOVW	(Dispatcher_Counts+const_Retry*8)(R6), R1
	MOVW	(Dispatcher_Counts+const_Retry*8+4)(R6), R2
	ADD.S	$1, R1, R1
	ADC	$0, R2, R2
	MOVW	R1, (Dispatcher_Counts+const_Retry*8)(R6)
	MOVW	R2, (Dispatcher_Counts+const_Retry*8+4)(R6)
back:	// R4: &abortHook
	MOVW	(abortHookState_fault+Fault_G)(R4), g
	MOVW	abortHookState_sp(R4), R13
	MOVW	$0, R3
	MOVW	R3, g_sched_sp(g)
	SUB	$(const_frameWords*4), R13, R13
	MOVM.IA.W	(R13), [R0-R12, R14]	// pop {r0-r12, r14}
	MOVW.S	R14, R15			// return, CPSR = SPSR_abt

resolved:
	MOVW	R0, 4(R13)
	BL	·dispatchResolution(SB)
	MOVW	$·abortHook(SB), R4
	B	back

slow:
	MOVW	$0x10, R0			// arm.DATA_ABORT
	MOVW	R0, 4(R13)
	BL	·dispatchAbort(SB)
	MOVW	$·abortHook(SB), R4
	B	back

ong0:	// on g0: no switch, the hook runs below the frame on the
	// interrupted stack, as CallOnG0 would run it. (Every context the
	// hook can interrupt has a g: the hook is installed from Go.)
	MOVB	R5, abortHookState_onG0(R4)
	MOVW	$0x10, R0			// arm.DATA_ABORT
	SUB	$8, R13, R13
	MOVW	R0, 4(R13)
	BL	·dispatchAbort(SB)
	ADD	$8, R13, R13
	MOVM.IA.W	(R13), [R0-R12, R14]	// pop {r0-r12, r14}
	MOVW.S	R14, R15			// return, CPSR = SPSR_abt

other:
	OTHER_MODES(0x10, 8)
nested:
	NESTED_REPORT(0x10, 8)

// func otherModeEntry()
//
// otherModeEntry takes an abort from an exception mode other than abort
// mode, with R0 the vector (arm.DATA_ABORT or arm.PREFETCH_ABORT) and
// r0-r12 and the faulting PC as the exception left them in
// otherMode.frame. It reads the interrupted mode's banked SP and LR (and
// R8-R12 for FIQ mode, which banks them) with MRS (banked register), ARM
// ARM B9.3.9, whose SYSm encodings are in B9.2.3 Table B9-2 (abort mode
// may read every other mode's banked registers but Hyp mode's, which only
// Monitor and Hyp mode may: an abort in Hyp mode is taken to Hyp mode,
// B1.8.4, never here, so Hyp mode's SP and LR are given as 0). Then it
// calls otherModeReport on g0, which does not return.
//
// The stack: the report is Go code, and the runtime checks its stack
// against g's bounds, so it runs with g = g0 on g0's stack, below
// everything in use there. If the interrupted context's g (R10, not
// banked but in FIQ mode, where TamaGo's vector copies it from System
// mode) is not g0, g0 is not running (one core; it runs only as g) and
// its stack is free from g0.sched.sp down, as dataAbortEntry's switch
// takes it. If it is g0, g0's lowest SP in use is the interrupted mode's
// SP when that lies in g0's stack (TamaGo's vectors run their Go handler
// on g0's stack in the exception's mode: runtime.CallOnG0 sets that
// mode's SP), else SP_usr when that does (g0 interrupted in System mode
// by code on another stack, such as TamaGo's IRQ vector, which runs on
// SP_irq, the exception stack set_exc_stack gives every mode); if
// neither does, g0.sched.sp (the frames there are overwritten, which
// matters no more: the program stops). Neither
// SP_abt (after any abort it is the last interrupted SP_usr: the vectors
// load it from SP_usr and return with it there) nor TamaGo's exception
// stack (shared by every exception mode, with g's bounds elsewhere) is
// one Go code can run on.
TEXT ·otherModeEntry(SB),NOSPLIT|NOFRAME,$0
	MOVW	$·otherMode(SB), R4
	MOVW	R0, otherModeState_off(R4)
	WORD	$0xe14f1000			// mrs r1, SPSR (B9.3.8)
	AND	$0x1f, R1
	MOVW	$0, R2				// the mode's SP and LR
	MOVW	$0, R3
	CMP	$0x11, R1
	B.EQ	fiq
	CMP	$0x12, R1
	B.EQ	irq
	CMP	$0x13, R1
	B.EQ	svc
	CMP	$0x16, R1
	B.EQ	mon
	CMP	$0x1b, R1
	B.NE	banked				// Hyp, or not a mode: 0
	WORD	$0xe1072300			// mrs r2, SP_und
	WORD	$0xe1063300			// mrs r3, LR_und
	B	banked
fiq:
	WORD	$0xe10d2200			// mrs r2, SP_fiq
	WORD	$0xe10e3200			// mrs r3, LR_fiq
	WORD	$0xe1085200			// mrs r5, R8_fiq
	WORD	$0xe1096200			// mrs r6, R9_fiq
	WORD	$0xe10a7200			// mrs r7, R10_fiq
	WORD	$0xe10b8200			// mrs r8, R11_fiq
	WORD	$0xe10c9200			// mrs r9, R12_fiq
	ADD	$(otherModeState_frame+8*4), R4, R12
	MOVM.IA	[R5-R9], (R12)
	B	banked
irq:
	WORD	$0xe1012300			// mrs r2, SP_irq
	WORD	$0xe1003300			// mrs r3, LR_irq
	B	banked
svc:
	WORD	$0xe1032300			// mrs r2, SP_svc
	WORD	$0xe1023300			// mrs r3, LR_svc
	B	banked
mon:
	WORD	$0xe10d2300			// mrs r2, SP_mon
	WORD	$0xe10c3300			// mrs r3, LR_mon
banked:
	MOVW	R2, otherModeState_sp(R4)
	MOVW	R3, otherModeState_lr(R4)
	MOVW	$·abortHook(SB), R5
	MOVW	abortHookState_g0(R5), R6
	MOVW	g_sched_sp(R6), R7		// g0 not running: its top
	CMP	R6, g
	B.NE	stack
	MOVW	g_stack_lo(R6), R8		// g0 running: its lowest SP
	MOVW	g_stack_hi(R6), R9
	CMP	R8, R2				// the mode's SP in (lo, hi]
	B.LS	usr
	CMP	R9, R2
	MOVW.LS	R2, R7
	B.LS	stack
usr:
	WORD	$0xe1052200			// mrs r2, SP_usr (B9.3.9)
	CMP	R8, R2				// SP_usr in (lo, hi]
	B.LS	stack
	CMP	R9, R2
	MOVW.LS	R2, R7
stack:
	MOVW	R6, g
	MOVW	R7, R13
	MOVW	$runtime·mstart(SB), R7
	MOVW.W	R7, -4(R13)			// "called from mstart"
	BL	·otherModeReport(SB)
	B	0(PC)				// otherModeReport does not return

// func g0Of() (g0, ok uint32)
//
// g0Of returns the running goroutine's m's g0 and whether the runtime's
// layout is as dataAbortEntry reads it: g0's m is the same m.
TEXT ·g0Of(SB),NOSPLIT,$0-5
	MOVW	g_m(g), R1
	MOVW	m_g0(R1), R0
	MOVW	R0, g0+0(FP)
	MOVW	g_m(R0), R2
	MOVW	$0, R3
	CMP	R1, R2
	MOVW.EQ	$1, R3
	MOVB	R3, ok+4(FP)
	RET

// func schedOf(gp uint32) (sp, pc, lr, schedg uint32)
TEXT ·schedOf(SB),NOSPLIT,$0-20
	MOVW	gp+0(FP), R0
	MOVW	g_sched_sp(R0), R1
	MOVW	R1, sp+4(FP)
	MOVW	g_sched_pc(R0), R1
	MOVW	R1, pc+8(FP)
	MOVW	g_sched_lr(R0), R1
	MOVW	R1, lr+12(FP)
	MOVW	g_sched_g(R0), R1
	MOVW	R1, schedg+16(FP)
	RET
