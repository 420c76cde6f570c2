//go:build tamago

package qemu

import (
	"os"
	"runtime/goos"

	"github.com/tamach/tamach/board/internal/imx6"
	_ "github.com/usbarmory/tamago/board/nxp/mx6ullevk"
)

func init() {
	goos.Exit = semihostingExit
	if args := semihostingArgs(); len(args) > 0 {
		os.Args = args
	}
	imx6.MapNormal(Layout.FramePool)
	imx6.MapNormal(Layout.Store)
}
