// Package usbarmory starts tamach on the USB armory Mk II (NXP i.MX6ULZ or
// i.MX6UL, TamaGo's board/usbarmory/mk2).
//
// Importing it (in a program built with GOOS=tamago and the linkramsize
// tag) does what the board needs before main runs:
//
//   - the console is UART2, on the debug accessory;
//   - when the program exits, the board prints the exit code and halts
//     (there is no host to return a status to); a watchdog reset is left
//     to the program;
//   - the Go runtime gets Layout.Runtime only, and the frame pool and store
//     regions are remapped as normal cacheable memory.
//
// Layout is plain Go, readable on the host.
package usbarmory

import "github.com/tamach/tamach/board"

// RuntimeRAMSize is the Go runtime's share of DDR.
const RuntimeRAMSize = board.IMX6ULRuntimeRAM

// Layout is the memory plan of the USB armory Mk II with its 512 MiB of
// DDR3 at 0x80000000.
var Layout = board.IMX6UL512("usbarmory mk2")
