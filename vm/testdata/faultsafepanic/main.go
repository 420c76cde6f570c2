// Command faultsafepanic maps an object whose pager says it is
// mo.FaultSafe and panics in data_request, and touches it: the fault
// handler calls the pager inline, on the system stack, where the panic
// cannot be recovered, so the program must stop with the runtime's
// report, naming the panic. Booted by vm/faultsafe_panic_boot_test.go.
package main

import (
	"fmt"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/vm/testdata/internal/guest"
)

// PanicMessage is what the pager panics with.
const PanicMessage = "faultsafepanic: the fault-safe pager panics in data_request"

type panicking struct{ *rampager.Object }

func (panicking) FaultSafe() bool { return true }

func (panicking) DataRequest(mo.Seqno, mo.Control, mo.Offset, mo.Size, mo.Prot) error {
	panic(PanicMessage)
}

func main() {
	r := guest.Map("faultsafepanic", func(o *rampager.Object) mo.Object { return panicking{o} })
	fmt.Println("faultsafepanic: touching the page")
	v := r.Bytes()[5]
	fmt.Println("faultsafepanic: the access went on, read", v)
}
