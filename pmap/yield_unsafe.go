//go:build tamago

package pmap

import "unsafe"

// YieldOnReturn, called by the abort hook on g0 while handling an abort
// taken in a goroutine, redirects the exception return to the fault-yield
// trampoline and returns the faulting PC. See yield.go for the frame it
// rewrites and the limits to respect.
func YieldOnReturn() (pc uint32) {
	slot := (*uint32)(physPtr(ReadSPusr() - 4))
	pc = *slot
	faultYieldPC = pc
	fn := faultYield
	*slot = **(**uint32)(unsafe.Pointer(&fn))
	return pc
}
