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
	"os"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/vm"
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
	l := qemu.Layout
	tg, err := vm.NewTarget(l, vm.TargetConfig{
		PageSize: 4 << 10,
		Frames:   board.Region{Start: l.FramePool.Start, Size: 4 << 20},
		Window:   board.Region{Start: l.Window.Start, Size: 8 << 20},
	})
	if err != nil {
		fmt.Println("nestedfault:", err)
		os.Exit(3)
	}
	obj, err := rampager.New(rampager.Config{Size: 16 << 10})
	if err != nil {
		fmt.Println("nestedfault:", err)
		os.Exit(3)
	}
	p := &touching{Object: obj}
	r, err := tg.Kernel.Map(p, 16<<10, 0, 16<<10, vm.MapOptions{Prot: mo.ProtRead})
	if err != nil {
		fmt.Println("nestedfault:", err)
		os.Exit(3)
	}
	p.region = r
	fmt.Printf("nestedfault: touching %#x (the pager touches %#x)\n", r.Addr()+5, r.Addr()+4<<10+7)
	v := r.Bytes()[5]
	fmt.Println("nestedfault: the access went on, read", v)
}
