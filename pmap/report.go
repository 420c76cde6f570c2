package pmap

import (
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/arch/arm/armasm"
)

// ExitUnhandledFault is the exit status of a program stopped by a fault
// report (the abort hook, on the target).
const ExitUnhandledFault = 3

// Registers are the interrupted context of an abort: r0-r12 as the
// exception entry saved them, the banked SP and LR of the interrupted mode,
// the faulting PC (LR_abt less the exception's offset) and the saved
// program status (SPSR_abt).
type Registers struct {
	R    [13]uint32
	SP   uint32
	LR   uint32
	PC   uint32
	CPSR uint32
}

// Symbolizer names the function holding pc (and the offset into it), as
// runtime.FuncForPC does on the target; it returns "" when it cannot.
type Symbolizer func(pc uint32) string

// Disassemble returns the instruction word in GNU syntax, or a note that
// it does not decode. Thumb state (CPSR.T) is not used by Go code and is
// reported as such.
func Disassemble(word uint32, cpsr uint32) string {
	if cpsr&(1<<5) != 0 {
		return fmt.Sprintf(".word %#08x (Thumb state, not decoded)", word)
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], word)
	inst, err := armasm.Decode(b[:], armasm.ModeARM)
	if err != nil {
		return fmt.Sprintf(".word %#08x (%v)", word, err)
	}
	return armasm.GNUSyntax(inst)
}

// WriteReport writes the report of a fault nobody resolved: the fault
// (address, access, kind, level, status), the faulting instruction
// disassembled with its symbol, and the registers. word is the instruction
// at regs.PC, and ok says whether it could be read (a prefetch abort on an
// unmapped PC cannot).
//
// It allocates: it runs only on the way to stopping the program. It
// formats only basic types (no Stringer through fmt), because fmt defers
// around Stringers and the abort hook runs on the system stack, where a
// defer is fatal.
func WriteReport(w io.Writer, f *Fault, regs *Registers, word uint32, ok bool, sym Symbolizer) {
	what := "data abort"
	if f.Access == Execute {
		what = "prefetch abort"
	}
	fmt.Fprintf(w, "tamach: unhandled %s: %s at %#08x: %s fault", what, f.Access.String(), f.Addr, f.Kind.String())
	if f.Level != 0 {
		fmt.Fprintf(w, ", level %d", f.Level)
	}
	reg := "DFSR"
	if f.Access == Execute {
		reg = "IFSR"
	}
	fmt.Fprintf(w, " (%s %#x, FS 0b%05b)\n", reg, f.Status, f.FS())
	inst := "instruction not readable"
	if ok {
		inst = Disassemble(word, regs.CPSR)
	}
	where := ""
	if sym != nil {
		if s := sym(regs.PC); s != "" {
			where = " in " + s
		}
	}
	fmt.Fprintf(w, "  pc  %#08x%s: %s\n", regs.PC, where, inst)
	for i := 0; i < 13; i += 4 {
		fmt.Fprintf(w, " ")
		for j := i; j < i+4 && j < 13; j++ {
			fmt.Fprintf(w, " r%-2d %#08x", j, regs.R[j])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  sp  %#08x  lr  %#08x  cpsr %#08x\n", regs.SP, regs.LR, regs.CPSR)
}

// WriteNestedReport writes the report of a nested abort: nested was taken
// inside the abort hook (in abort mode, on the target) while it served
// outer, in the middle of its handler. Neither can go on: the nested
// exception overwrote the LR and SPSR of abort mode, through which the
// outer abort returns (the interrupted handler's LR and the outer
// context's CPSR are lost; they are given as 0). It writes one line
// naming both addresses and where each was taken, then each fault's
// report (WriteReport), the nested one first. It allocates, as
// WriteReport does.
func WriteNestedReport(w io.Writer, nested *Fault, regs *Registers, word uint32, ok bool,
	outer *Fault, outerRegs *Registers, outerWord uint32, outerOK bool, sym Symbolizer) {
	fmt.Fprintf(w, "tamach: nested abort: %s at %#08x (pc %#08x%s) inside the abort handler, while it served the %s at %#08x (pc %#08x%s); neither can be resumed\n",
		nested.Access.String(), nested.Addr, regs.PC, symbolAt(sym, regs.PC),
		outer.Access.String(), outer.Addr, outerRegs.PC, symbolAt(sym, outerRegs.PC))
	fmt.Fprintf(w, "the nested abort (lr lost):\n")
	WriteReport(w, nested, regs, word, ok, sym)
	fmt.Fprintf(w, "the abort it interrupted (cpsr lost):\n")
	WriteReport(w, outer, outerRegs, outerWord, outerOK, sym)
}

// symbolAt is " in " and sym's name for pc, or "".
func symbolAt(sym Symbolizer, pc uint32) string {
	if sym != nil {
		if s := sym(pc); s != "" {
			return " in " + s
		}
	}
	return ""
}

// ModeName names the ARM processor mode m, CPSR.M (ARM ARM B1.3.1, Table
// B1-1), or says it is not one.
func ModeName(m uint32) string {
	switch m & 0x1f {
	case 0x10:
		return "User"
	case 0x11:
		return "FIQ"
	case 0x12:
		return "IRQ"
	case 0x13:
		return "Supervisor"
	case 0x16:
		return "Monitor"
	case 0x17:
		return "Abort"
	case 0x1a:
		return "Hyp"
	case 0x1b:
		return "Undefined"
	case 0x1f:
		return "System"
	}
	return fmt.Sprintf("reserved (%#x)", m&0x1f)
}

// WriteOtherModeReport writes the report of an abort taken in an
// exception mode other than abort, System and User mode (regs.CPSR.M): an
// interrupt handler or exception code touching window memory or a bad
// address. The abort hook serves aborts from System and User mode only;
// such an abort interrupted code that cannot be resumed in general. It
// writes one line naming the mode, the access and the pc, then the
// fault's report (WriteReport), whose sp and lr are that mode's banked
// registers. It allocates, as WriteReport does.
func WriteOtherModeReport(w io.Writer, f *Fault, regs *Registers, word uint32, ok bool, sym Symbolizer) {
	fmt.Fprintf(w, "tamach: abort in %s mode (cpsr.M %#02x): %s at %#08x (pc %#08x%s); the abort hook serves aborts taken in System and User mode only, and this one cannot be resumed\n",
		ModeName(regs.CPSR), regs.CPSR&0x1f, f.Access.String(), f.Addr, regs.PC, symbolAt(sym, regs.PC))
	fmt.Fprintf(w, "the abort (sp and lr are %s mode's):\n", ModeName(regs.CPSR))
	WriteReport(w, f, regs, word, ok, sym)
}
