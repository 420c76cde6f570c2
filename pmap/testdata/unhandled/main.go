// Command unhandled makes a write that nobody resolves, with the abort hook
// installed and no fault handler registered: the hook must print the
// fault report and exit with pmap.ExitUnhandledFault. Booted by
// pmap/report_target_test.go.
package main

import (
	"fmt"
	"unsafe"

	_ "github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/pmap"
)

//go:noinline
func poke(addr uintptr, v uint32) {
	*(*uint32)(unsafe.Add(nil, addr)) = v
}

func main() {
	var d pmap.Dispatcher
	pmap.InstallAbortHook(&d)
	fmt.Println("poking the null page")
	// TamaGo leaves the first 4 KiB unmapped to catch nil pointers.
	poke(8, 0x77)
	fmt.Println("the write went through")
}
