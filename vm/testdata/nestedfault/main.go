// Command nestedfault maps an object whose pager says it is mo.FaultSafe
// and, inside data_request, touches another missing page of its own
// object: a nested abort, taken in the abort handler (on g0) while the
// outer fault is being served. That access cannot be served (it needs a
// call on an object whose call is under way, and the handler cannot
// wait), so the program must stop with the fault report naming both
// addresses and a non-zero exit status. Booted by
// vm/nested_boot_test.go.
package main

import (
	"fmt"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/vm"
	"github.com/tamach/tamach/vm/testdata/internal/guest"
)

// touching is a fault-safe pager that loads from its own object's
// second page in data_request before answering.
type touching struct {
	*rampager.Object
	region *vm.Region
}

func (touching) FaultSafe() bool { return true }

func (p *touching) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	v := p.region.Bytes()[4<<10+7]
	fmt.Println("nestedfault: the nested access went on, read", v)
	return p.Object.DataRequest(seq, ctl, off, n, desired)
}

func main() {
	p := &touching{}
	r := guest.Map("nestedfault", func(o *rampager.Object) mo.Object { p.Object = o; return p })
	p.region = r
	fmt.Printf("nestedfault: touching %#x (the pager touches %#x)\n", r.Addr()+5, r.Addr()+4<<10+7)
	v := r.Bytes()[5]
	fmt.Println("nestedfault: the access went on, read", v)
}
