// Command faultsafepanic maps an object whose pager says it is
// mo.FaultSafe and panics in data_request, and touches it: the fault
// handler calls the pager inline, on the system stack, where the panic
// cannot be recovered, so the program must stop with the runtime's
// report, naming the panic. Booted by vm/faultsafe_panic_boot_test.go.
package main

import (
	"fmt"
	"os"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/vm"
)

// PanicMessage is what the pager panics with.
const PanicMessage = "faultsafepanic: the fault-safe pager panics in data_request"

type panicking struct{ *rampager.Object }

func (panicking) FaultSafe() bool { return true }

func (panicking) DataRequest(mo.Seqno, mo.Control, mo.Offset, mo.Size, mo.Prot) error {
	panic(PanicMessage)
}

func main() {
	l := qemu.Layout
	tg, err := vm.NewTarget(l, vm.TargetConfig{
		PageSize: 4 << 10,
		Frames:   board.Region{Start: l.FramePool.Start, Size: 4 << 20},
		Window:   board.Region{Start: l.Window.Start, Size: 8 << 20},
	})
	if err != nil {
		fmt.Println("faultsafepanic:", err)
		os.Exit(3)
	}
	obj, err := rampager.New(rampager.Config{Size: 16 << 10})
	if err != nil {
		fmt.Println("faultsafepanic:", err)
		os.Exit(3)
	}
	r, err := tg.Kernel.Map(panicking{obj}, 16<<10, 0, 16<<10, vm.MapOptions{Prot: mo.ProtRead})
	if err != nil {
		fmt.Println("faultsafepanic:", err)
		os.Exit(3)
	}
	fmt.Println("faultsafepanic: touching the page")
	v := r.Bytes()[5]
	fmt.Println("faultsafepanic: the access went on, read", v)
}
