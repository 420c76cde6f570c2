//go:build tamago

// Command othermode takes an abort in an exception mode other than
// System and User mode, on a page of a mapped window that is not
// resident: the abort hook serves no such abort, so the program must stop
// with the fault report naming the mode and the address, and exit status
// pmap.ExitUnhandledFault. Booted by vm/othermode_boot_test.go; its
// argument says how:
//
//   - svc, irq, fiq, mon: a load in Supervisor, IRQ, FIQ or Monitor mode,
//     switched to by msr from a goroutine (loadInMode);
//   - und: a load by an undefined-instruction handler, which TamaGo's
//     vector runs in Undefined mode on g0;
//   - prefetch: a branch to the window page in Supervisor mode (a
//     prefetch abort).
package main

import (
	"fmt"
	"os"
	"unsafe"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/vm/testdata/internal/guest"
	"github.com/usbarmory/tamago/arm"
)

// defined in othermode_arm.s

// loadInMode loads the word at addr in the mode whose CPSR.M is mode.
func loadInMode(addr, mode uint32) uint32

// modes are the modes loadInMode is asked for, by argument.
var modes = map[string]struct {
	name string
	m    uint32
}{
	"svc": {"Supervisor", 0x13},
	"irq": {"IRQ", 0x12},
	"fiq": {"FIQ", 0x11},
	"mon": {"Monitor", 0x16},
}

// branchInSupervisorMode branches to addr in Supervisor mode.
func branchInSupervisorMode(addr uint32)

// undefinedInstruction executes an undefined instruction (udf #0).
func undefinedInstruction()

func main() {
	how := ""
	if len(os.Args) > 1 {
		how = os.Args[1]
	}
	if how == "und" {
		// The hook passes exceptions other than aborts to the handler it
		// replaced: this one, installed before guest.Map installs the
		// hook.
		arm.SystemExceptionHandler = undefinedHandler
	}
	r := guest.Map("othermode", func(o *rampager.Object) mo.Object { return o })
	addr := uint32(r.Addr()) + 8
	mode, load := modes[how]
	switch {
	case load:
		fmt.Printf("othermode: loading %#x in %s mode\n", addr, mode.name)
		v := loadInMode(addr, mode.m)
		fmt.Println("othermode: the load went on, read", v)
	case how == "und":
		fmt.Printf("othermode: loading %#x in Undefined mode\n", addr)
		undefinedLoad = addr
		undefinedInstruction()
		fmt.Println("othermode: the undefined instruction went on")
	case how == "prefetch":
		fmt.Printf("othermode: branching to %#x in Supervisor mode\n", addr)
		branchInSupervisorMode(addr)
		fmt.Println("othermode: the branch went on")
	default:
		fmt.Println("othermode: want an argument: svc, irq, fiq, mon, und or prefetch")
		os.Exit(2)
	}
}

// undefinedLoad is the address undefinedHandler loads from.
var undefinedLoad uint32

// undefinedHandler is the exception handler for an undefined instruction:
// TamaGo's vector runs it in Undefined mode on g0. It loads from
// undefinedLoad. It cannot return: the vector would run the undefined
// instruction again.
func undefinedHandler(off int) {
	if off != arm.UNDEFINED {
		arm.DefaultExceptionHandler(off)
	}
	v := *(*uint32)(unsafe.Add(nil, uintptr(undefinedLoad)))
	print("othermode: the load in Undefined mode went on, read ", v, "\n")
	os.Exit(0)
}
