// Package pagemem clears and copies whole pages of memory, the work of a
// zero-fill fault and of a pager's data_supply.
//
// On the target (TamaGo on ARMv7 with VFPv3-D32, such as the i.MX6UL's
// Cortex-A7) Clear and Copy move 128 bytes per instruction through the
// sixteen upper double registers D16-D31 with VSTM and VLDM (ARM ARM,
// DDI 0406C, chapter A8: VLDM, VSTM); elsewhere, or for a length or alignment
// they do not take, they are Go's clear and copy. Go's own runtime clears
// and copies at most 32 bytes per instruction on ARM: under QEMU a 4 KiB
// page takes 550 and 683 instructions that way, 87 and 138 here
// (BenchmarkTargetPageClear, BenchmarkTargetPageCopy).
//
// # Why D16-D31 need no saving
//
// The Go toolchain uses only D0-D15 (F0-F15) on ARM, so nothing else in
// a Go program reads or writes D16-D31: neither goroutines nor the
// exception handlers (TamaGo saves no VFP state on an exception), and
// runtime.asyncPreempt, which saves D0-D15 for the fault-yield trampoline,
// has nothing of them to save. Clear and Copy hold no value in D16-D31
// across an instruction that can fault: Clear writes zeros to frame memory
// (identity mapped, never faulting), and Copy loads a block and stores it
// before loading the next, so a fault on a load (a source inside a
// window) restarts that load with nothing live. A fault handler that runs
// Clear or Copy meanwhile therefore disturbs nothing.
//
// Both allocate nothing and may run on the fault path (g0, IRQs masked).
package pagemem

// Block is the granule of the fast paths: lengths that are multiples of
// it, at word-aligned addresses, go through the assembly on the target.
const Block = 1024

// Clear zeroes b.
func Clear(b []byte) {
	if len(b) == 0 {
		return
	}
	if fast && len(b)%Block == 0 && aligned(&b[0]) {
		clearBlocks(&b[0], uint32(len(b)/Block))
		return
	}
	clear(b)
}

// Copy copies min(len(dst), len(src)) bytes from src to dst, which must
// not overlap, and returns the count.
func Copy(dst, src []byte) int {
	n := min(len(dst), len(src))
	if n == 0 {
		return 0
	}
	if fast && n%Block == 0 && aligned(&dst[0]) && aligned(&src[0]) {
		copyBlocks(&dst[0], &src[0], uint32(n/Block))
		return n
	}
	return copy(dst, src)
}
