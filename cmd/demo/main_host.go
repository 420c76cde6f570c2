//go:build !tamago

package main

import (
	"fmt"
	"os"

	"github.com/tamach/tamach/board/qemu"
)

// On the host the demo only type-checks (and its plain-Go parts are
// tested): it runs on a board.
var layout = qemu.Layout

func main() {
	fmt.Fprintln(os.Stderr, "demo: this program runs on a board: make qemu (QEMU) or make imx (USB armory)")
	os.Exit(2)
}
