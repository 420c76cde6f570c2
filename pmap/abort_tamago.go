//go:build tamago

package pmap

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"github.com/usbarmory/tamago/arm"
)

// The abort hook: TamaGo calls arm.SystemExceptionHandler on g0, with IRQs
// masked, in the exception's mode (here abort mode), for every exception
// (arm/exception.s, EXCEPTION). The hook takes data and prefetch aborts
// and passes every other exception to the handler it replaced.
//
// The interrupted context is the frame EXCEPTION pushed on the
// interrupted stack: r0-r12 and the faulting PC at [S-56, S), S being the
// interrupted SP_usr (yield.go).

const (
	// frameWords is the size of EXCEPTION's frame: r0-r12, PC.
	frameWords = 14
	// yieldRoom is the stack a goroutine needs below its frame to yield:
	// runtime.asyncPreempt saves every register (about 192 bytes), and
	// the scheduler call below it needs a little more. A goroutine with
	// less room is treated as if on g0 (the fault must be served
	// synchronously or is reported). frameWords*4+yieldRoom, 0x440, is an
	// immediate operand of an ARM compare (dataabort_arm.s).
	yieldRoom = 1032
)

// abortHook is the state of the one installed hook: there is one exception
// vector, so there is one hook. Written only by InstallAbortHook, and for
// the abort being handled by the vector (dataabort_arm.s) and the hook.
var abortHook abortHookState

// dataabort_arm.s stores Access, Kind and Level with one word, from
// faultWords: they are bytes 4, 5 and 6 of a Fault, byte 7 is padding.
var (
	_ = [1]struct{}{}[unsafe.Offsetof(Fault{}.Access)-4]
	_ = [1]struct{}{}[unsafe.Offsetof(Fault{}.Kind)-5]
	_ = [1]struct{}{}[unsafe.Offsetof(Fault{}.Level)-6]
	_ = [1]struct{}{}[unsafe.Offsetof(Fault{}.Status)-8]
)

// faultWords is fsClass with the access, as dataAbortEntry reads it: for
// the FS code fs and DFSR.WnR w, entry fs|w<<5 is the word at offset 4 of
// the decoded Fault (little-endian: Access, Kind, Level, 0).
var faultWords = func() (t [64]uint32) {
	for i := range t {
		f := DecodeData(faultStatus(uint32(i&31), Access(i>>5)), 0)
		t[i] = uint32(f.Access) | uint32(f.Kind)<<8 | uint32(f.Level)<<16
	}
	return t
}()

// abortHookState is abortHook's type, named for its field offsets in
// dataabort_arm.s (go_asm.h).
type abortHookState struct {
	d    *Dispatcher
	prev func(int)
	// fault is the abort being handled. It lives here, not on the stack:
	// a pointer to it goes to the handler through an interface, which
	// would move a local to the heap on every abort. f points at it (one
	// load gives the hook a base for every field).
	fault Fault
	f     *Fault
	// The data abort being handled, beyond fault, as dataAbortEntry
	// decodes it: the interrupted SP_usr, and whether the interrupted
	// context cannot yield (canYield).
	sp   uint32
	onG0 bool
	// g0 is the runtime's g0, the goroutine dataAbortEntry switches to
	// (g0Of at install).
	g0 uint32
}

// InstallAbortHook makes d receive every data and prefetch abort from now
// on; other exceptions go to the handler that was installed before. It
// returns a function that puts the previous handler back.
//
// Data aborts come through the hook's own vector (dataabort_arm.s);
// prefetch aborts and every other exception through TamaGo's, which
// calls arm.SystemExceptionHandler. A program that replaces that handler
// while the hook is installed takes prefetch aborts away from the hook,
// not data aborts.
func InstallAbortHook(d *Dispatcher) (uninstall func()) {
	g0, ok := g0Of()
	if !ok {
		panic("pmap: the runtime's g and m are not laid out as the abort vector reads them (dataabort_arm.s)")
	}
	abortHook.g0 = g0
	prev := arm.SystemExceptionHandler
	abortHook.d, abortHook.prev, abortHook.f = d, prev, &abortHook.fault
	arm.SystemExceptionHandler = handleException
	restoreVectors := installNestedGuard()
	return func() {
		restoreVectors()
		arm.SystemExceptionHandler = prev
		abortHook.d = nil
	}
}

// handleException takes the exceptions TamaGo's vector passes to
// arm.SystemExceptionHandler: prefetch aborts (and data aborts where the
// vector table is not TamaGo's, so dataAbortEntry is not installed),
// decoded here, then dispatched by dispatchAbort; every other exception
// goes to the handler it replaced.
//
//go:nosplit
func handleException(off int) {
	f := abortHook.f
	var fsr, sp, g0 uint32
	if off == arm.DATA_ABORT {
		fsr, f.Addr, sp, g0 = dataAbortContext()
		*f = DecodeData(fsr, f.Addr)
	} else if off == arm.PREFETCH_ABORT {
		fsr, f.Addr, sp, g0 = prefetchAbortContext()
		*f = DecodePrefetch(fsr, f.Addr)
	} else {
		abortHook.prev(off)
		return
	}
	// The interrupted context's g: R10 in the exception frame (the g
	// register in Go code and the runtime's assembly).
	gp := *(*uint32)(physPtr(sp - frameWords*4 + 10*4))
	f.G = uintptr(gp)
	abortHook.sp, abortHook.onG0 = sp, !canYield(sp, gp, g0)
	dispatchAbort(off)
}

// dispatchAbort runs on g0 with IRQs masked: it must not allocate or
// block on its way to Retry or Yield. It is called by handleException for
// a prefetch abort, and by dataAbortEntry (dataabort_arm.s) for a data
// abort its own dispatch does not take (the common case, a synchronous
// abort with a handler, it takes itself); either has decoded the abort
// into abortHook (fault, sp, onG0). It does Dispatcher.Dispatch's work
// inline (the same rules: no handler or an asynchronous abort is
// Unhandled, and so is Yield on g0 or a resolution out of range). It
// needs no stack check of its own: its frame is small and what it calls
// checks its own.
//
//go:nosplit
func dispatchAbort(off int) {
	h := &abortHook
	f, onG0, d := h.f, h.onG0, h.d
	r := Unhandled
	if d.h != nil && f.Synchronous() {
		if r = d.h.HandleFault(f, onG0); r == Retry {
			d.Counts[Retry]++
			return
		}
	}
	dispatchResolution(r)
}

// dispatchResolution completes dispatchAbort, or dataAbortEntry's own
// dispatch, for an abort its handler did not answer with Retry (or that
// went to no handler: Unhandled): Yield makes the goroutine wait unless
// the abort came from a context that cannot yield; everything else is
// reported and stops the program.
//
//go:nosplit
func dispatchResolution(r Resolution) {
	h := &abortHook
	if r == Yield && !h.onG0 {
		h.d.Counts[Yield]++
		YieldOnReturn()
		return
	}
	h.d.Counts[Unhandled]++
	sp := h.sp
	reportAndExit(h.f, (*[frameWords]uint32)(physPtr(sp-frameWords*4)), sp)
}

// itabFun0 is the offset of the first method in the runtime's itab
// (internal/abi.ITab: Inter, Type, Hash, then Fun) on 32-bit ARM:
// dataAbortEntry calls FaultHandler's one method through it.
const itabFun0 = 12

// canYield reports whether the interrupted context, whose SP_usr is s
// and whose g is gp (R10, the g register in Go code and in the runtime's
// assembly, saved in the exception frame), is a goroutine other than g0
// with room on its stack for runtime.asyncPreempt below the exception
// frame.
func canYield(s, gp, g0 uint32) bool {
	if gp == 0 || gp == g0 {
		return false
	}
	// g.stack.lo is the first word of the runtime's g.
	lo := *(*uint32)(physPtr(gp))
	return s-lo >= frameWords*4+yieldRoom
}

// SkipFaultingInstruction makes the exception return to the instruction
// after the faulting one (ARM state). Meant for tests whose fault handler
// records an expected abort and goes on; call it from the handler, before
// returning Retry.
func SkipFaultingInstruction() {
	*(*uint32)(physPtr(ReadSPusr() - 4)) += 4
}

// reportAndExit writes the fault report to the console and ends the
// program with ExitUnhandledFault. It allocates: the program is stopping.
func reportAndExit(f *Fault, frame *[frameWords]uint32, s uint32) {
	regs := Registers{SP: s, LR: readLRusr(), PC: frame[13], CPSR: readSPSR()}
	copy(regs.R[:], frame[:13])
	word, ok := instructionAt(regs.PC)
	var b strings.Builder
	WriteReport(&b, f, &regs, word, ok, symbolize)
	// print, not os.Stdout: the file's write path defers, which is fatal
	// on the system stack.
	print(b.String())
	os.Exit(ExitUnhandledFault)
}

// instructionAt returns the instruction word at pc, if pc is an aligned
// address in the program's text.
func instructionAt(pc uint32) (word uint32, ok bool) {
	if start, end := runtime.TextRegion(); pc&3 == 0 && uint64(pc) >= uint64(start) && uint64(pc)+4 <= uint64(end) {
		return *(*uint32)(physPtr(pc)), true
	}
	return 0, false
}

// symbolize names the function holding pc and the offset into it.
func symbolize(pc uint32) string {
	fn := runtime.FuncForPC(uintptr(pc))
	if fn == nil {
		return ""
	}
	file, line := fn.FileLine(uintptr(pc))
	return fmt.Sprintf("%s+%#x (%s:%d)", fn.Name(), uintptr(pc)-fn.Entry(), file, line)
}

// defined in abortctx_arm.s

// readLRusr returns the banked LR of User/System mode, read from an
// exception mode: MRS r0, LR_usr (B9.3.9, SYSm 0b00110).
func readLRusr() uint32

// readSPSR returns the saved program status of the current exception
// mode: the interrupted CPSR (B9.3.8 MRS, R=1).
func readSPSR() uint32

// dataAbortContext returns, for the abort hook, DFSR, DFAR, the
// interrupted SP_usr and the current g (g0 in the hook).
func dataAbortContext() (fsr, far, sp, g0 uint32)

// prefetchAbortContext returns IFSR, IFAR, SP_usr and g.
func prefetchAbortContext() (fsr, far, sp, g0 uint32)

// g0Of returns the calling goroutine's m's g0, and whether that g0's m is
// the same m (the runtime's layout as dataabort_arm.s reads it).
func g0Of() (g0 uint32, ok bool)

// schedOf returns the saved context of the runtime g at gp, as
// dataabort_arm.s writes it: sched.sp, sched.pc, sched.lr and sched.g.
func schedOf(gp uint32) (sp, pc, lr, schedg uint32)
