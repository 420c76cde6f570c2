package pmap

import "testing"

// A model of what the hardware sees, to check pmap's upkeep: table walks
// read memory, not the data cache, so a descriptor reaches the walker only
// when its line is cleaned (DCCMVAC); and the TLB keeps what it walked
// until invalidated by address (TLBIMVA, any address in the page) or
// whole (TLBIALL). Entries that give translation or access-flag faults
// are never held in a TLB (ARM ARM B3.10.1, B3.7.1 with hardware
// access-flag management off); valid entries are, permission faults and
// all. Barriers are not modelled (the order of calls stands for them).

// memView is table memory as the walker sees it.
type memView struct {
	cache *FakeMem // what the CPU wrote
	l1    [4096]uint32
	t     [][256]uint32
}

func (m *memView) L1() (uint32, *[4096]uint32) { return m.cache.l1pa, &m.l1 }

func (m *memView) Table(pa uint32) *[256]uint32 {
	if m.cache.Table(pa) == nil {
		return nil
	}
	return &m.t[(pa-m.cache.base)>>10]
}

type tlbEntry struct {
	large bool
	tr    Translation
	desc  uint32 // the L2 descriptor (permissions checked at use)
	dom   uint32 // L1 table descriptor
}

// coherentMMU records like RecordingMMU and models cache cleaning and
// the TLB.
type coherentMMU struct {
	*RecordingMMU
	view  *memView
	line  uint32
	tlb   map[uint32]tlbEntry // by 4 KiB or 64 KiB page address
	walk  Walker              // over view
	stale int                 // walks that hit a TLB entry
}

func newCoherentMMU(mem *FakeMem, line uint32) *coherentMMU {
	v := &memView{cache: mem, l1: mem.l1, t: make([][256]uint32, len(mem.tables))}
	copy(v.t, mem.tables)
	return &coherentMMU{RecordingMMU: NewRecordingMMU(0), view: v, line: line,
		tlb: map[uint32]tlbEntry{}, walk: Walker{Mem: v, DACR: 1, AFE: true}}
}

func (c *coherentMMU) CleanDCacheLine(pa uint32) {
	c.RecordingMMU.CleanDCacheLine(pa)
	a := pa &^ (c.line - 1)
	m := c.view.cache
	for i := uint32(0); i < c.line; i += 4 {
		w := a + i
		if w-m.l1pa < 1<<14 && w >= m.l1pa {
			c.view.l1[(w-m.l1pa)>>2] = m.l1[(w-m.l1pa)>>2]
		} else if t := m.Table(w &^ 0x3ff); t != nil {
			c.view.Table(w &^ 0x3ff)[w>>2&0xff] = t[w>>2&0xff]
		}
	}
}

func (c *coherentMMU) InvalidateTLB(va uint32) {
	c.RecordingMMU.InvalidateTLB(va)
	delete(c.tlb, va&^0xfff)
	if e, ok := c.tlb[va&^0xffff]; ok && e.large {
		delete(c.tlb, va&^0xffff)
	}
}

func (c *coherentMMU) InvalidateTLBAll() {
	c.RecordingMMU.InvalidateTLBAll()
	clear(c.tlb)
}

// Walk translates as the hardware would: TLB first, then the tables in
// memory.
func (c *coherentMMU) Walk(va uint32, acc Access) (Translation, Fault, bool) {
	e, ok := c.tlb[va&^0xfff]
	if !ok {
		e, ok = c.tlb[va&^0xffff]
		ok = ok && e.large
	}
	if ok {
		c.stale++
		d := DecodeL2(e.desc)
		if fs := c.walk.check(acc, d.AP, uint8(e.dom>>5&0xf), d.XN, e.dom>>2&1 != 0,
			FSAccessFlagPage, FSDomainPage, FSPermissionPage); fs != 0 {
			return Translation{}, makeFault(va, acc, fs), false
		}
		off := va & 0xfff
		if e.large {
			off = va & 0xffff
		}
		return Translation{PA: e.tr.PA + off, Attr: e.tr.Attr, Level: 2}, Fault{}, true
	}
	tr, f, ok := c.walk.Walk(va, acc)
	if !ok && (f.Kind == KindTranslation || f.Kind == KindAccessFlag || f.Kind == KindExternal) {
		return tr, f, ok
	}
	// cache the page's entry (window pages only: they use L2 tables)
	_, l1 := c.view.L1()
	d1 := l1[va>>20]
	if d1&3 != 1 {
		return tr, f, ok
	}
	desc := c.view.Table(d1 &^ 0x3ff)[va>>12&0xff]
	d := DecodeL2(desc)
	ent := tlbEntry{large: d.Kind == L2Large, tr: Translation{PA: d.Base, Attr: d.Attr}, desc: desc, dom: d1}
	if ent.large {
		c.tlb[va&^0xffff] = ent
	} else {
		c.tlb[va&^0xfff] = ent
	}
	return tr, f, ok
}

func newCoherentEnv(t testing.TB, mibs uint32, tables int) (*env, *coherentMMU) {
	t.Helper()
	mem, err := NewFakeMem(testL1PA, testTablesPA, tables)
	if err != nil {
		t.Fatal(err)
	}
	mem.FlatMap(0x80000000, 0x80400000, 0x90000000)
	c := newCoherentMMU(mem, 64)
	p, err := New(Config{Base: testWindow, Size: mibs << 20, Phys: []Range{{testRAM, testRAMSize}},
		Mem: mem, Alloc: mem, MMU: c, CacheLine: 64})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{mem: mem, mmu: c.RecordingMMU, p: p, walk: Walker{Mem: mem, DACR: 1, AFE: true}}
	e.hw = c.Walk
	return e, c
}

// The model catches what it should: a descriptor written but not
// cleaned is invisible, and a TLB entry outlives its descriptor until
// invalidated.
func TestCoherenceModelSeesMissingUpkeep(t *testing.T) {
	e, c := newCoherentEnv(t, 1, 2)
	va := uint32(testWindow + 0x3000)
	if err := e.p.Enter(va, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, Accessed|Written); err != nil {
		t.Fatal(err)
	}
	mustWalk(t, &e.walk, va, Write, testRAM)
	if _, _, ok := c.Walk(va, Write); !ok {
		t.Fatal("entered page not visible to the hardware")
	}
	// write behind pmap's back: no clean, no TLB invalidation
	s := &e.p.slots[0]
	s.hw[3] |= pteAP2
	if _, _, ok := c.Walk(va, Write); !ok {
		t.Error("uncleaned change seen by the walker")
	}
	c.CleanDCacheLine(s.pa + 3*4)
	if _, _, ok := c.Walk(va, Write); !ok {
		t.Error("TLB entry dropped without invalidation")
	}
	c.InvalidateTLB(va)
	if _, f, ok := c.Walk(va, Write); ok || f.FS() != FSPermissionPage {
		t.Errorf("after upkeep: %v %+v", ok, f)
	}
	if c.stale == 0 {
		t.Error("TLB never hit")
	}
}
