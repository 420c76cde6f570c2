package pmap

import (
	"fmt"
	"slices"
	"testing"
)

// reclaimByParts is Reclaim made of the general methods: the model it
// must agree with.
func reclaimByParts(p *Pmap, va uint32, drop bool) Harvested {
	m, ok := p.Lookup(va)
	if !ok {
		return 0
	}
	h := HarvestMapped
	if m.Modified {
		h |= HarvestModified
	}
	if m.Referenced {
		p.ClearReferenced(va)
		return h | HarvestReferenced
	}
	if drop && !m.Modified && !m.Wired {
		n := m.Size.Bytes()
		if p.Remove(m.VA, m.VA+n) == nil {
			h |= HarvestRemoved
		}
	}
	return h
}

// TestReclaimIsItsParts: for every state of a mapping (small or large,
// referenced, modified, wired, writable, alone in its table or not) and
// both drops, Reclaim gives the same answer, the same tables and the same
// upkeep as IsModified, ClearReferenced and Remove.
func TestReclaimIsItsParts(t *testing.T) {
	w := uint32(testWindow)
	for _, size := range []PageSize{Page4K, Page64K} {
		for flags := EnterFlags(0); flags <= Wired|Accessed|Written; flags++ {
			for _, prot := range []Prot{ProtRead, ProtRead | ProtWrite} {
				for _, alone := range []bool{false, true} {
					for _, drop := range []bool{false, true} {
						name := fmt.Sprintf("size%d/flags%d/prot%d/alone%v/drop%v", size, flags, prot, alone, drop)
						a, b := newEnv(t, 2, 4), newEnv(t, 2, 4)
						va := w + 0x50000 + 0x1000*uint32(size) // inside the large page: not its start
						for _, e := range []*env{a, b} {
							if err := e.p.Enter(va&^(size.Bytes()-1), testRAM+0x100000, prot, MemNormal, size, flags); err != nil {
								t.Fatal(err)
							}
							if !alone {
								if err := e.p.Enter(w+0x90000, testRAM, ProtRead, MemNormal, Page4K, 0); err != nil {
									t.Fatal(err)
								}
							}
							e.mmu.Reset()
						}
						got, want := a.p.Reclaim(va, drop), reclaimByParts(b.p, va, drop)
						if got != want {
							t.Errorf("%s: Reclaim = %#x, by parts %#x", name, got, want)
						}
						if !a.snap().equal(b.snap()) || !slices.Equal(a.mmu.Log, b.mmu.Log) {
							t.Errorf("%s: tables or upkeep differ: %v, by parts %v", name, a.mmu.Log, b.mmu.Log)
						}
						a.check(t)
						if got := a.p.Reclaim(w+0x200000-4096, drop); got != 0 {
							t.Errorf("%s: Reclaim of nothing = %#x", name, got)
						}
					}
				}
			}
		}
	}
}

func TestReclaimAllocatesNothing(t *testing.T) {
	e := newEnv(t, 1, 2)
	w := uint32(testWindow)
	if err := e.p.Enter(w, testRAM, ProtRead, MemNormal, Page4K, 0); err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		e.mmu.Reset()
		e.p.Enter(w+0x1000, testRAM, ProtRead, MemNormal, Page4K, Accessed)
		e.p.Reclaim(w+0x1000, true)
		e.p.Reclaim(w+0x1000, true)
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
	e.check(t)
}
