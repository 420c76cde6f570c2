//go:build tamago

package pmap

// Hardware is the MMU upkeep of the running core: each method is the one
// instruction its name says (cache.go, tlb.go, barrier.go).
type Hardware struct{}

// CleanDCacheLine implements MMU: DCCMVAC.
func (Hardware) CleanDCacheLine(pa uint32) { DCacheCleanMVA(pa) }

// DSB implements MMU.
func (Hardware) DSB() { DSB() }

// ISB implements MMU.
func (Hardware) ISB() { ISB() }

// InvalidateTLB implements MMU: TLBIMVA.
func (Hardware) InvalidateTLB(va uint32) { TLBInvalidateMVA(va) }

// InvalidateTLBAll implements MMU: TLBIALL.
func (Hardware) InvalidateTLBAll() { TLBInvalidateAll() }

// InvalidateBranchPredictor implements MMU: BPIALL.
func (Hardware) InvalidateBranchPredictor() { BranchPredictorInvalidateAll() }
