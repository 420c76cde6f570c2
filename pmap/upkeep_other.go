//go:build !tamago

package pmap

// fusedUpkeep: no core to run fused sequences on outside the target.
func fusedUpkeep(MMU) (entryUpkeep, bool) { return entryUpkeep{}, false }
