//go:build tamago && usbarmory

package main

import "github.com/tamach/tamach/board/usbarmory"

var layout = usbarmory.Layout
