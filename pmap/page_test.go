package pmap

import (
	"errors"
	"slices"
	"testing"
)

// newEnvNG is newEnv with NotGlobal as given.
func newEnvNG(t testing.TB, mibs uint32, tables int, notGlobal bool) *env {
	t.Helper()
	mem, err := NewFakeMem(testL1PA, testTablesPA, tables)
	if err != nil {
		t.Fatal(err)
	}
	mem.FlatMap(0x80000000, 0x80400000, 0x90000000)
	mmu := NewRecordingMMU(4096)
	p, err := New(Config{Base: testWindow, Size: mibs << 20, Phys: []Range{{testRAM, testRAMSize}},
		Mem: mem, Alloc: mem, MMU: mmu, CacheLine: 64, NotGlobal: notGlobal})
	if err != nil {
		t.Fatal(err)
	}
	mmu.Reset()
	return &env{mem: mem, mmu: mmu, p: p, walk: Walker{Mem: mem, DACR: 1, AFE: true}}
}

// sameState reports how a and b differ: tables, upkeep log, software
// state and counters.
func sameState(a, b *env) string {
	switch {
	case a.mem.l1 != b.mem.l1:
		return "L1 tables"
	case !slices.Equal(a.mem.tables, b.mem.tables):
		return "L2 tables"
	case a.mem.Free() != b.mem.Free():
		return "free tables"
	case !slices.Equal(a.mmu.Log, b.mmu.Log):
		return "upkeep"
	case a.p.Resident() != b.p.Resident() || a.p.WiredCount() != b.p.WiredCount():
		return "counters"
	}
	for i := range a.p.slots {
		if a.p.slots[i].sw != b.p.slots[i].sw || a.p.slots[i].n != b.p.slots[i].n {
			return "software state"
		}
	}
	return ""
}

// TestEnterPageIsEnter: for every protection, memory type and flag
// combination, and addresses that take every path (a new table, an
// empty entry, the same or another frame replaced, a page inside a large
// one, bad alignment, window and frame), EnterPage with NewPageAttr does
// exactly what Enter does: the same error, tables, upkeep and state.
func TestEnterPageIsEnter(t *testing.T) {
	w := uint32(testWindow)
	type place struct {
		name   string
		va, pa uint32
	}
	places := []place{
		{"new table", w + 1<<20 + 0x5000, testRAM + 0x7000},
		{"empty entry", w + 0x5000, testRAM + 0x7000},
		{"same frame again", w + 0x1000, testRAM + 0x3000},
		{"another frame", w + 0x1000, testRAM + 0x4000},
		{"inside a large page", w + 0x12000, testRAM},
		{"unaligned va", w + 0x5100, testRAM},
		{"unaligned pa", w + 0x5000, testRAM + 8},
		{"below the window", w - 0x1000, testRAM},
		{"above the window", w + 2<<20, testRAM},
		{"pa outside RAM", w + 0x5000, testRAM - 0x1000},
		{"last frame of RAM", w + 0x5000, testRAM + testRAMSize - 0x1000},
	}
	for _, ng := range []bool{false, true} {
		for prot := Prot(0); prot <= ProtAll+1; prot++ {
			for mt := MemType(0); mt <= numMemTypes; mt++ {
				for flags := EnterFlags(0); flags < 16; flags++ {
					a, aerr := NewPageAttr(prot, mt, flags)
					if aerr != nil {
						e := newEnvNG(t, 2, 4, ng)
						if err := e.p.Enter(w, testRAM, prot, mt, Page4K, flags); !errors.Is(err, aerr) {
							t.Fatalf("prot %v mt %v: NewPageAttr %v, Enter %v", prot, mt, aerr, err)
						}
						continue
					}
					if a.Prot() != prot || a.MemType() != mt || a.Flags() != flags&7 {
						t.Fatalf("PageAttr(%v, %v, %v) gives back %v %v %v", prot, mt, flags, a.Prot(), a.MemType(), a.Flags())
					}
					for _, pl := range places {
						var envs [2]*env
						var errs [2]error
						for k := range envs {
							e := newEnvNG(t, 2, 4, ng)
							e.p.Enter(w+0x1000, testRAM+0x3000, ProtRead|ProtWrite, MemNormal, Page4K, Accessed|Written)
							e.p.Enter(w+0x10000, testRAM, ProtRead, MemNormal, Page64K, 0)
							e.mmu.Reset()
							if k == 0 {
								errs[k] = e.p.Enter(pl.va, pl.pa, prot, mt, Page4K, flags)
							} else {
								errs[k] = e.p.EnterPage(pl.va, pl.pa, a)
							}
							e.check(t)
							envs[k] = e
						}
						if errs[0] != errs[1] {
							t.Fatalf("ng %v prot %v mt %v flags %v, %s: Enter %v, EnterPage %v", ng, prot, mt, flags, pl.name, errs[0], errs[1])
						}
						if d := sameState(envs[0], envs[1]); d != "" {
							t.Fatalf("ng %v prot %v mt %v flags %v, %s: %s differ", ng, prot, mt, flags, pl.name, d)
						}
					}
				}
			}
		}
	}
}

// TestEnterPageRefusesTheZeroAttr: a PageAttr not made by NewPageAttr is
// an error and changes nothing.
func TestEnterPageRefusesTheZeroAttr(t *testing.T) {
	e := newEnv(t, 1, 2)
	if err := e.p.Enter(testWindow, testRAM, ProtRead, MemNormal, Page4K, 0); err != nil {
		t.Fatal(err)
	}
	before := e.snap()
	if err := e.p.EnterPage(testWindow+0x1000, testRAM, PageAttr{}); !errors.Is(err, ErrProt) {
		t.Errorf("EnterPage of PageAttr{}: %v, want %v", err, ErrProt)
	}
	if !before.equal(e.snap()) {
		t.Error("tables or upkeep changed")
	}
}

func TestEnterPageAllocatesNothing(t *testing.T) {
	e := newEnv(t, 1, 2)
	w := uint32(testWindow)
	e.p.Enter(w+0xff000, testRAM, ProtRead, MemNormal, Page4K, 0)
	a, err := NewPageAttr(ProtRead|ProtWrite, MemNormal, Accessed)
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(200, func() {
		e.mmu.Reset()
		err = e.p.EnterPage(w+0x3000, testRAM+0x5000, a)
		err = e.p.Remove(w+0x3000, w+0x4000)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}
