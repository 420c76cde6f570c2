//go:build tamago

package pmap

// CurrentG identifies the calling goroutine as Fault.G identifies the one
// that took a fault: on TamaGo the address of its runtime g, which the
// abort hook reads from the interrupted context's R10. It allocates
// nothing.
func CurrentG() uintptr { return uintptr(currentG()) }

func currentG() uint32
