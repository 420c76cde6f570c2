//go:build tamago

package pmap

import (
	"os"
	"strings"
	"unsafe"

	"github.com/usbarmory/tamago/arm"
)

// Nested aborts. The abort hook runs in abort mode on g0; an abort taken
// there (a fault-safe pager touching window memory in its data_request,
// say) is a nested abort. TamaGo's vector cannot take it: it would push
// its frame on the interrupted goroutine's stack over the outer abort's
// frame and call the hook there with g0 (the runtime stops with "morestack
// on g0"), and the exception has already overwritten LR_abt and SPSR_abt,
// the outer abort's way back. So InstallAbortHook puts a check in front
// of TamaGo's data and prefetch abort vectors (dataabort_arm.s): an
// abort from abort mode does not go to a vector; nestedAbort writes the
// report of both faults (WriteNestedReport) and stops the program with
// ExitUnhandledFault. An abort from System mode goes on for the cost of
// five instructions, one from User mode for two more: a prefetch abort
// to TamaGo's vector, a data abort to the hook's own (dataAbortEntry).

// vectorAddrs is the offset of the handler addresses in TamaGo's vector
// table at VBAR: eight "ldr pc, [pc, #24]", then the eight addresses the
// loads take (arm.SetVectorTable).
const vectorAddrs = 8 * 4

// installNestedGuard puts dataAbortEntry and prefetchAbortEntry in the
// vector table in place of TamaGo's own handlers, and returns the function
// that puts them back. If a slot holds something else (a vector table not
// TamaGo's), it is left alone: dataabort_arm.s goes on to TamaGo's handlers
// only.
func installNestedGuard() (restore func()) {
	slots := readVBAR() + vectorAddrs
	data := (*uint32)(physPtr(slots + arm.DATA_ABORT))
	prefetch := (*uint32)(physPtr(slots + arm.PREFETCH_ABORT))
	oldData, oldPrefetch := *data, *prefetch
	tamagoData, tamagoPrefetch := tamagoAbortVectors()
	if oldData == tamagoData {
		*data = codeAddr(dataAbortEntry)
	}
	if oldPrefetch == tamagoPrefetch {
		*prefetch = codeAddr(prefetchAbortEntry)
	}
	return func() { *data, *prefetch = oldData, oldPrefetch }
}

// codeAddr returns the entry address of an assembly function (ABI0; on
// arm Go functions have no other ABI).
func codeAddr(fn func()) uint32 { return **(**uint32)(unsafe.Pointer(&fn)) }

// nestedAbort is called by dataabort_arm.s, in abort mode on the stack of the
// hook it interrupted, for an abort taken inside the hook: off is the
// vector (arm.DATA_ABORT or arm.PREFETCH_ABORT) and frame the address of
// r0-r12 and the faulting PC it pushed there. The outer abort is still in
// abortHook.fault, and its frame below SP_usr is intact. It reports both
// and stops the program; it does not return.
func nestedAbort(off int, frame uint32) {
	var nested Fault
	var sp uint32
	if off == arm.DATA_ABORT {
		fsr, far, s, _ := dataAbortContext()
		nested, sp = DecodeData(fsr, far), s
	} else {
		fsr, far, s, _ := prefetchAbortContext()
		nested, sp = DecodePrefetch(fsr, far), s
	}
	nested.G = uintptr(currentG())
	fr := (*[frameWords]uint32)(physPtr(frame))
	// The hook's LR_abt was overwritten by the nested exception: 0.
	regs := Registers{SP: frame + frameWords*4, PC: fr[13], CPSR: readSPSR()}
	copy(regs.R[:], fr[:13])
	outer := abortHook.fault
	ofr := (*[frameWords]uint32)(physPtr(sp - frameWords*4))
	// The outer abort's SPSR_abt was overwritten too: its CPSR is 0.
	oregs := Registers{SP: sp, LR: readLRusr(), PC: ofr[13]}
	copy(oregs.R[:], ofr[:13])
	if d := abortHook.d; d != nil {
		d.Counts[Unhandled]++
	}
	word, ok := instructionAt(regs.PC)
	oword, ook := instructionAt(oregs.PC)
	var b strings.Builder
	WriteNestedReport(&b, &nested, &regs, word, ok, &outer, &oregs, oword, ook, symbolize)
	print(b.String())
	os.Exit(ExitUnhandledFault)
}

// Aborts from other exception modes. The hook serves aborts taken in
// System mode (Go code) and User mode; one taken in IRQ, FIQ,
// Supervisor, Undefined or Monitor mode (an interrupt handler or
// exception code touching window memory or a bad address) interrupted
// code that runs between an exception's entry and return, with IRQs
// masked and often on g0: it cannot be served by yielding and, in
// general, not resumed. The entries' check sends it to otherModeEntry
// (dataabort_arm.s), which saves the registers in otherMode and calls
// otherModeReport on g0: the program stops with the fault report and a
// line naming the mode (WriteOtherModeReport), and ExitUnhandledFault.

// otherModeState is otherMode's type, named for its field offsets in
// dataabort_arm.s (go_asm.h).
type otherModeState struct {
	// frame is r0-r12 and the faulting PC as the exception left them
	// (R8-R12 FIQ mode's own for an abort from FIQ mode).
	frame [frameWords]uint32
	// off is the vector: arm.DATA_ABORT or arm.PREFETCH_ABORT.
	off uint32
	// sp and lr are the interrupted mode's banked SP and LR (0 for a
	// mode abort mode cannot read them from: Hyp).
	sp, lr uint32
}

// otherMode is written by the entries for an abort from another exception
// mode, on the way to stopping the program: a static area, not a stack,
// because the entries have none they could use before choosing one.
var otherMode otherModeState

// otherModeReport is called by otherModeEntry (dataabort_arm.s), in abort
// mode on g0, for an abort taken in an exception mode other than abort,
// System and User mode, with the interrupted context in otherMode. It
// writes the report and stops the program; it does not return.
func otherModeReport() {
	s := &otherMode
	var f Fault
	if s.off == arm.DATA_ABORT {
		f = DecodeData(ReadDFSR(), ReadDFAR())
	} else {
		f = DecodePrefetch(ReadIFSR(), ReadIFAR())
	}
	// The g register as the interrupted code had it.
	f.G = uintptr(s.frame[10])
	regs := Registers{SP: s.sp, LR: s.lr, PC: s.frame[13], CPSR: readSPSR()}
	copy(regs.R[:], s.frame[:13])
	if d := abortHook.d; d != nil {
		d.Counts[Unhandled]++
	}
	word, ok := instructionAt(regs.PC)
	var b strings.Builder
	WriteOtherModeReport(&b, &f, &regs, word, ok, symbolize)
	print(b.String())
	os.Exit(ExitUnhandledFault)
}

// defined in dataabort_arm.s and nested_arm.s

// dataAbortEntry and prefetchAbortEntry are the vector table's data and
// prefetch abort handlers while the hook is installed (dataabort_arm.s):
// the check of the interrupted mode, then for a data abort the hook's
// own vector (TamaGo's frame, the abort decoded into abortHook, the
// handler called on g0), for a prefetch abort TamaGo's.
func dataAbortEntry()
func prefetchAbortEntry()

// otherModeEntry is where the entries go for an abort from an exception
// mode other than abort, System and User mode: it reads that mode's SP
// and LR, chooses a stack on g0 and calls otherModeReport.
func otherModeEntry()

// tamagoAbortVectors returns the addresses of TamaGo's data and prefetch
// abort handlers (arm/exception.s), where the entries go on.
func tamagoAbortVectors() (data, prefetch uint32)

// readVBAR returns the vector base address (VBAR).
func readVBAR() uint32
