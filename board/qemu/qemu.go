//go:build tamago

package qemu

import (
	"os"
	"runtime/goos"

	"github.com/usbarmory/tamago/arm"
	_ "github.com/usbarmory/tamago/board/nxp/mx6ullevk"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

func init() {
	goos.Exit = semihostingExit
	if args := semihostingArgs(); len(args) > 0 {
		os.Args = args
	}
	mapNormal(Layout.FramePool.Start, Layout.FramePool.Size)
	mapNormal(Layout.Store.Start, Layout.Store.Size)
}

// mapNormal gives a region of DDR outside the runtime's RAM the attributes
// of ordinary memory (normal, write-back cacheable, never executable)
// instead of TamaGo's default device attributes, so that frames can be
// mapped into the window with matching attributes (ARM ARM A3.5.7,
// mismatched memory attributes).
func mapNormal(start, size uint32) {
	imx6ul.ARM.ConfigureMMU(start, start+size, 0, arm.MemoryRegion|arm.TTE_EXECUTE_NEVER)
}
