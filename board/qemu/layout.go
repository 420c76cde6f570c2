// Package qemu starts tamach on QEMU's mcimx6ul-evk machine (an i.MX6UL
// evaluation kit, TamaGo's board/nxp/mx6ullevk), as run by the runner in
// the top-level qemu/ folder.
//
// Importing it (in a program or an on-target test built with GOOS=tamago
// and the linkramsize tag) does what the board needs before main runs:
//
//   - the console is UART1, QEMU's first -serial;
//   - the program's exit status leaves through ARM semihosting
//     (SYS_EXIT_EXTENDED), so QEMU exits with the program's code, and a
//     panic (exit code 2) makes QEMU exit non-zero;
//   - os.Args is filled from the semihosting command line
//     (SYS_GET_CMDLINE), so test flags reach the testing package;
//   - the Go runtime gets Layout.Runtime only, and the frame pool and store
//     regions are remapped as normal cacheable memory (TamaGo maps DDR
//     beyond the runtime's RAM as device memory).
//
// Layout is plain Go, readable on the host.
package qemu

import "github.com/tamach/tamach/board"

// RuntimeRAMSize is the Go runtime's share of DDR.
const RuntimeRAMSize = board.IMX6ULRuntimeRAM

// Layout is the memory plan of the mcimx6ul-evk machine started with
// -m 512M (MemoryMiB): DDR at 0x80000000.
var Layout = board.IMX6UL512("qemu mcimx6ul-evk")

// MemoryMiB is the RAM size QEMU must be started with (-m) for Layout.
const MemoryMiB = 512
