//go:build tamago

package pmap

// fusedUpkeep returns the single-instruction-sequence upkeep of the core
// when m is Hardware (upkeep.go).
func fusedUpkeep(m MMU) (entryUpkeep, bool) {
	if _, ok := m.(Hardware); !ok {
		return entryUpkeep{}, false
	}
	return entryUpkeep{syncNew: syncNewEntry, syncChange: syncChangedEntry, syncReplace: syncReplacedEntry}, true
}

// defined in upkeep_arm.s

// syncNewEntry: DCCMVAC desc, DSB, ISB.
func syncNewEntry(desc, va uint32)

// syncChangedEntry: DCCMVAC desc, DSB, TLBIMVA va, DSB, ISB.
func syncChangedEntry(desc, va uint32)

// syncReplacedEntry: DCCMVAC desc, DSB, TLBIMVA va, BPIALL, DSB, ISB.
func syncReplacedEntry(desc, va uint32)
