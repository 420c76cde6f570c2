//go:build tamago

package pmap

// InAbortMode reports whether the caller runs in ARM abort mode (CPSR.M
// is 0b10111, ARM ARM B1.3.1): inside the abort hook, on g0, with IRQs
// masked, on the one core of the boards tamach runs on, so that nothing
// else runs until the hook returns. A fault handler may rely on that to
// skip locking; called from a goroutine it reports false. It allocates
// nothing.
func InAbortMode() bool { return cpsrMode() == 0x17 }

// cpsrMode returns CPSR.M (bits[4:0]). Defined in abortmode_arm.s.
func cpsrMode() uint32
