//go:build tamago && !usbarmory

package main

import (
	"github.com/tamach/tamach/board/qemu"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

var layout = qemu.Layout

// shellAlways: under QEMU the console runs only with -shell, so that
// make qemu exits with the demo's status.
const shellAlways = false

// consoleUART is the console's serial port: UART1, QEMU's first -serial.
var consoleUART = imx6ul.UART1
