//go:build tamago

package pmap

// Cache maintenance by address (B4.2.1, Table B4-5). No barriers inside:
// the caller orders them (package doc). Addresses are MVAs; the tables
// and frames are identity mapped, so an MVA is the physical address.

// defined in cache_arm.s

// DCacheCleanMVA cleans the data cache line holding addr to the point of
// coherency: DCCMVAC.
func DCacheCleanMVA(addr uint32)

// DCacheCleanInvalidateMVA cleans and invalidates the data cache line
// holding addr to the point of coherency: DCCIMVAC.
func DCacheCleanInvalidateMVA(addr uint32)

// DCacheCleanMVAU cleans the data cache line holding addr to the point of
// unification (for instruction fetch): DCCMVAU.
func DCacheCleanMVAU(addr uint32)

// ICacheInvalidateAll invalidates the instruction cache to the point of
// unification: ICIALLU.
func ICacheInvalidateAll()

// ICacheInvalidateMVA invalidates the instruction cache line holding addr
// to the point of unification: ICIMVAU.
func ICacheInvalidateMVA(addr uint32)

// SyncInstructions makes [addr, addr+n) coherent for instruction fetch
// after it was written as data (B2.2.9): DCCMVAU per line, DSB, ICIALLU,
// BPIALL, DSB, ISB. line is the data cache line size (DCacheLineSize).
func SyncInstructions(addr, n, line uint32) {
	if n == 0 {
		return
	}
	for a := addr &^ (line - 1); a < addr+n; a += line {
		DCacheCleanMVAU(a)
	}
	DSB()
	ICacheInvalidateAll()
	BranchPredictorInvalidateAll()
	DSB()
	ISB()
}
