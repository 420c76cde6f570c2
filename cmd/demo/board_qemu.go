//go:build tamago && !usbarmory

package main

import "github.com/tamach/tamach/board/qemu"

var layout = qemu.Layout
