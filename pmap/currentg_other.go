//go:build !tamago

package pmap

import "runtime"

// CurrentG identifies the calling goroutine as Fault.G identifies the one
// that took a fault. On the host, where no abort hook sets Fault.G, it is
// the goroutine's number, so that a test that hands a fault to a handler
// from a goroutine can say which one took it. It may allocate here.
func CurrentG() uintptr {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	// "goroutine 123 [running]: ..."
	var id uintptr
	for i := len("goroutine "); i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		id = id*10 + uintptr(b[i]-'0')
	}
	return id
}
