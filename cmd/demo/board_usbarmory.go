//go:build tamago && usbarmory

package main

import (
	"github.com/tamach/tamach/board/usbarmory"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

var layout = usbarmory.Layout

// shellAlways: the USB armory has no host to return a status to (its
// board halts at exit), so the console always follows the demo.
const shellAlways = true

// consoleUART is the console's serial port: UART2, on the debug accessory.
var consoleUART = imx6ul.UART2
