//go:build tamago

package pmap

// The fault-yield trampoline and the banked SP_usr reader, for the abort
// hook (package doc, "Faults and the abort hook"; shared
// examples/fault-yield).
//
// TamaGo's abort vector (arm/exception.s, EXCEPTION) sets SP_abt to the
// interrupted SP_usr S, pushes r0-r12 and the return PC (the faulting
// instruction) at [S-56, S) and calls the handler on g0. The return PC is
// the word at S-4. To make the faulting goroutine wait, the hook saves
// that PC for the trampoline and replaces it with the trampoline's
// address (YieldOnReturn): when the exception returns, faultYield runs
// on the goroutine with every register as at the fault, pushes LR, loads
// the saved PC into LR and branches to runtime.asyncPreempt, the frame
// Go's own asynchronous preemption builds. The goroutine yields and,
// rescheduled, returns to the faulting instruction, which is retried.
//
// Limits the hook must respect: asyncPreempt needs about 192 bytes below
// the faulting SP (check the room, else serve the fault synchronously);
// a fault on g0 cannot yield; faultYieldPC is one word, read by the
// trampoline two instructions after the exception returns, so a second
// yield must not be set up in between (IRQ handlers must not fault on
// window memory).

// defined in yield_arm.s

// ReadSPusr returns the banked SP of User/System mode, read from an
// exception mode: MRS r0, SP_usr (B9.3.9, encoding 0xe1050200).
func ReadSPusr() uint32

// faultYield is the trampoline; never called from Go.
func faultYield()

// faultYieldPC is the faulting PC the trampoline returns to.
var faultYieldPC uint32
