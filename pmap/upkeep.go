package pmap

// Upkeep of one page descriptor (package doc, "Upkeep sequences"), the
// hot paths' case: a small page entered, removed, or changed in place.
// Each sequence is one function value of the Pmap, chosen at New: on the
// target, when the MMU is Hardware, an assembly function that issues the
// whole sequence (upkeep_arm.s); otherwise the same sequence through the
// MMU's methods, so host tests record and check exactly what the target
// does.

// entryUpkeep holds the three sequences. desc is the physical address
// of the descriptor written, va the address it maps.
type entryUpkeep struct {
	// syncNew follows a descriptor that was a fault and is now valid
	// (nothing to invalidate: B3.10.1): DCCMVAC, DSB, ISB.
	syncNew func(desc, va uint32)
	// syncChange follows a change of access permissions or the access
	// flag, the frame kept: DCCMVAC, DSB, TLBIMVA, DSB, ISB.
	syncChange func(desc, va uint32)
	// syncReplace follows a valid descriptor replaced by another frame
	// or by a fault: DCCMVAC, DSB, TLBIMVA, BPIALL, DSB, ISB.
	syncReplace func(desc, va uint32)
}

// newEntryUpkeep returns the sequences for m: the fused ones of the core
// for Hardware, else m's own methods in the same order.
func newEntryUpkeep(m MMU) entryUpkeep {
	if u, ok := fusedUpkeep(m); ok {
		return u
	}
	return entryUpkeep{
		syncNew: func(desc, va uint32) {
			m.CleanDCacheLine(desc)
			m.DSB()
			m.ISB()
		},
		syncChange: func(desc, va uint32) {
			m.CleanDCacheLine(desc)
			m.DSB()
			m.InvalidateTLB(va)
			m.DSB()
			m.ISB()
		},
		syncReplace: func(desc, va uint32) {
			m.CleanDCacheLine(desc)
			m.DSB()
			m.InvalidateTLB(va)
			m.InvalidateBranchPredictor()
			m.DSB()
			m.ISB()
		},
	}
}
