// Package guest sets up the small guests that vm's boot tests run in
// QEMU: a kernel on the QEMU board and one 16 KiB object of a RAM pager,
// mapped read-only through a pager that wraps it.
package guest

import (
	"fmt"
	"os"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
	"github.com/tamach/tamach/vm"
)

// ObjectSize is the size of the mapped object.
const ObjectSize = 16 << 10

// Map makes the kernel and maps the object through wrap(object). On an
// error it prints it after name and exits with status 3, which the boot
// tests tell apart from the outcomes they look for.
func Map(name string, wrap func(*rampager.Object) mo.Object) *vm.Region {
	l := qemu.Layout
	tg, err := vm.NewTarget(l, vm.TargetConfig{
		PageSize: 4 << 10,
		Frames:   board.Region{Start: l.FramePool.Start, Size: 4 << 20},
		Window:   board.Region{Start: l.Window.Start, Size: 8 << 20},
	})
	if err != nil {
		fail(name, err)
	}
	obj, err := rampager.New(rampager.Config{Size: ObjectSize})
	if err != nil {
		fail(name, err)
	}
	r, err := tg.Kernel.Map(wrap(obj), ObjectSize, 0, ObjectSize, vm.MapOptions{Prot: mo.ProtRead})
	if err != nil {
		fail(name, err)
	}
	return r
}

func fail(name string, err error) {
	fmt.Println(name+":", err)
	os.Exit(3)
}
