//go:build !(tamago && arm)

package pagemem

const fast = false

func aligned(*byte) bool { return false }

func clearBlocks(*byte, uint32)       { panic("pagemem: no fast path") }
func copyBlocks(*byte, *byte, uint32) { panic("pagemem: no fast path") }
