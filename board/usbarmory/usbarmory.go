//go:build tamago

package usbarmory

import (
	"runtime/goos"

	"github.com/tamach/tamach/board/internal/imx6"
	_ "github.com/usbarmory/tamago/board/usbarmory/mk2"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

func init() {
	goos.Exit = halt
	imx6.MapNormal(Layout.FramePool)
	imx6.MapNormal(Layout.Store)
}

// halt reports the exit code on the console and stops the processor: a
// board has no host to return the status to.
func halt(code int32) {
	print("tamach: exit status ", code, ", halted\n")
	for {
		imx6ul.ARM.WaitInterrupt()
	}
}
