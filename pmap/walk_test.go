package pmap

import (
	"math/rand/v2"
	"testing"
)

// TamaGo's flat map with SCTLR.AFE set: AP=0b001 keeps the access flag
// set, so RAM stays read-write, text executable, data and devices XN.
func TestWalkTamaGoFlatMap(t *testing.T) {
	mem, _ := NewFakeMem(testL1PA, testTablesPA, 1)
	mem.FlatMap(0x80000000, 0x80400000, 0x90000000)
	for _, afe := range []bool{false, true} {
		w := Walker{Mem: mem, DACR: 1, AFE: afe}
		mustWalk(t, &w, 0x80010000, Execute, 0x80010000)
		mustWalk(t, &w, 0x80500004, Write, 0x80500004)
		mustFault(t, &w, 0x80500000, Execute, FSPermissionSection)
		mustWalk(t, &w, 0x020d0000, Read, 0x020d0000)
		mustFault(t, &w, 0x020d0000, Execute, FSPermissionSection)
		tr, _, _ := w.Walk(0x020d0000, Read)
		if tr.Level != 1 || !tr.Attr.DeviceLike() {
			t.Errorf("device region: %+v", tr)
		}
		tr, _, _ = w.Walk(0x80500000, Read)
		if tr.Attr.Type() != MemNormal {
			t.Errorf("RAM: %+v", tr)
		}
	}
}

func TestWalkSectionFaults(t *testing.T) {
	mem, _ := NewFakeMem(testL1PA, testTablesPA, 2)
	_, l1 := mem.L1()
	enc := func(d L1Desc) uint32 {
		w, err := d.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	l1[0x100] = enc(L1Desc{Kind: L1Section, Base: 0x10000000, AP: 0b000})            // access flag clear
	l1[0x101] = enc(L1Desc{Kind: L1Section, Base: 0x10100000, AP: 0b101})            // read-only
	l1[0x102] = enc(L1Desc{Kind: L1Section, Base: 0x10200000, AP: 0b001, Domain: 1}) // domain 1
	l1[0x103] = enc(L1Desc{Kind: L1Section, Base: 0x10300000, AP: 0b001, PXN: true})
	l1[0x110] = enc(L1Desc{Kind: L1Supersection, Base: 0x20000000, AP: 0b001})
	l1[0x120] = enc(L1Desc{Kind: L1Supersection, Base: 0x20000000, AP: 0b001, ExtBase: 1})
	l1[0x130] = enc(L1Desc{Kind: L1Table, Base: 0x12345400}) // not table memory
	l1[0x131] = enc(L1Desc{Kind: L1Table, Base: testTablesPA, Domain: 2})
	l1[0x132] = enc(L1Desc{Kind: L1Table, Base: testTablesPA + 0x400, PXN: true})
	mem.Table(testTablesPA)[5] = smallPTE(0x30005000, memTypeAttr[MemNormal], 0b001, false, false)
	mem.Table(testTablesPA + 0x400)[5] = smallPTE(0x30005000, memTypeAttr[MemNormal], 0b001, false, false)

	w := Walker{Mem: mem, DACR: 1, AFE: true}
	mustFault(t, &w, 0x0ff00000, Read, FSTranslationSection)
	mustFault(t, &w, 0x10000010, Read, FSAccessFlagSection)
	mustWalk(t, &w, 0x10100010, Read, 0x10100010)
	f := mustFault(t, &w, 0x10100010, Write, FSPermissionSection)
	if f.Kind != KindPermission || f.Level != 1 || f.Status&fsrWnR == 0 {
		t.Errorf("%+v", f)
	}
	mustFault(t, &w, 0x10200000, Read, FSDomainSection)
	mustWalk(t, &w, 0x10300000, Read, 0x10300000)
	mustFault(t, &w, 0x10300000, Execute, FSPermissionSection)
	mustWalk(t, &w, 0x11012345, Read, 0x20012345)
	mustFault(t, &w, 0x12000000, Read, FSExternal)
	mustFault(t, &w, 0x13000000, Read, FSExternalWalkL2)
	mustFault(t, &w, 0x13105000, Read, FSDomainPage)
	mustFault(t, &w, 0x13106000, Read, FSTranslationPage) // translation before domain
	mustFault(t, &w, 0x13205000, Execute, FSPermissionPage)
	mustWalk(t, &w, 0x13205000, Write, 0x30005000)

	// manager domains skip permission checks, not the access flag
	w.DACR = 1 | 3<<2
	mustWalk(t, &w, 0x10200000, Execute, 0x10200000)
	mustFault(t, &w, 0x10000010, Read, FSAccessFlagSection)
	// without AFE, AP=0b000 is no access and the access flag does not exist
	w = Walker{Mem: mem, DACR: 1}
	mustFault(t, &w, 0x10000010, Read, FSPermissionSection)
}

// The property test: random Enter/Remove/Protect/ClearModified/
// ClearReferenced and touches (walk, Upgrade on a fault, walk again)
// applied to a Pmap and to a plain map; after each step the walk of every
// page, for read, write and execute, agrees with the model.

type modelPage struct {
	pa         uint32 // of this 4 KiB page
	prot       Prot
	mt         MemType
	large      bool
	wired      bool
	referenced bool
	modified   bool
}

type model struct {
	base  uint32
	pages map[uint32]*modelPage // by va
	heads map[uint32][]uint32   // large head -> its 16 pages share state through the head
}

func (m *model) head(va uint32) *modelPage {
	p := m.pages[va]
	if p != nil && p.large {
		return m.pages[va&^0xffff]
	}
	return p
}

// expect returns the walk result the model predicts.
func (m *model) expect(va uint32, acc Access) (pa uint32, fs uint32) {
	p := m.pages[va]
	if p == nil {
		mib := va &^ 0xfffff
		for v := range m.pages {
			if v&^0xfffff == mib {
				return 0, FSTranslationPage
			}
		}
		return 0, FSTranslationSection
	}
	h := m.head(va)
	if !h.referenced && !h.wired {
		return 0, FSAccessFlagPage
	}
	switch acc {
	case Write:
		if h.prot&ProtWrite == 0 || !(h.modified || h.wired) {
			return 0, FSPermissionPage
		}
	case Execute:
		if h.prot&ProtExec == 0 {
			return 0, FSPermissionPage
		}
	}
	return p.pa, 0
}

func TestPropertyWalkAgreesWithModel(t *testing.T) {
	propertyTest(t, func(t testing.TB) *env { return newEnv(t, 2, 4) })
}

// The same sequences, walked as the hardware would (TLB and uncached
// table walks, coherence_test.go): pmap's upkeep is enough.
func TestPropertyUpkeepKeepsHardwareCoherent(t *testing.T) {
	propertyTest(t, func(t testing.TB) *env { e, _ := newCoherentEnv(t, 2, 4); return e })
}

func propertyTest(t *testing.T, newE func(testing.TB) *env) {
	const mibs = 2
	const pages = mibs << 8
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	for seed := uint64(1); seed <= 3; seed++ {
		e := newE(t)
		m := &model{base: testWindow, pages: map[uint32]*modelPage{}}
		r := rand.New(rand.NewPCG(seed, 42))
		randVA := func() uint32 { return testWindow + uint32(r.IntN(pages))<<12 }
		randProt := func() Prot { return Prot(r.IntN(8)) }
		for step := 0; step < steps; step++ {
			var err error
			var wantErr bool
			switch op := r.IntN(10); op {
			case 0, 1, 2: // Enter
				size := Page4K
				va := randVA()
				pa := testRAM + uint32(r.IntN(4096))<<12
				if r.IntN(3) == 0 {
					size = Page64K
					va &^= 0xffff
					pa &^= 0xffff
				}
				if h := m.head(va); h != nil && r.IntN(2) == 0 && h.large == (size == Page64K) {
					pa = h.pa // re-enter the same frame: its state is kept
				}
				prot := randProt()
				mt := MemType(1 + r.IntN(int(numMemTypes)-1))
				flags := EnterFlags(r.IntN(8))
				err = e.p.Enter(va, pa, prot, mt, size, flags)
				n := uint32(1)
				if size == Page64K {
					n = 16
				}
				attr, _ := mt.Attr()
				wantErr = prot == ProtNone || prot&ProtExec != 0 && attr.DeviceLike()
				replace := m.pages[va]
				for i := uint32(0); i < n; i++ {
					if q := m.pages[va+i<<12]; q != nil && q.large != (size == Page64K) {
						wantErr = true
					}
				}
				if !wantErr {
					samePA := replace != nil && m.head(va).pa == pa
					old := m.head(va)
					np := &modelPage{prot: prot, mt: mt, large: size == Page64K, wired: flags&Wired != 0,
						referenced: flags&(Accessed|Wired) != 0}
					np.modified = prot&ProtWrite != 0 && flags&(Written|Wired) != 0
					if samePA {
						np.modified = np.modified || (old.modified && prot&ProtWrite != 0) || old.modified
						np.referenced = np.referenced || old.referenced || old.wired
					}
					if np.wired && prot&ProtWrite != 0 {
						np.modified = true
					}
					for i := uint32(0); i < n; i++ {
						c := *np
						c.pa = pa + i<<12
						m.pages[va+i<<12] = &c
					}
				}
			case 3, 4: // Remove
				a, b := randVA(), randVA()
				if a > b {
					a, b = b, a
				}
				b += 0x1000
				err = e.p.Remove(a, b)
				wantErr = m.splits(a, b)
				if !wantErr {
					for v := a; v < b; v += 0x1000 {
						delete(m.pages, v)
					}
				}
			case 5, 6: // Protect
				a := randVA()
				b := a + uint32(r.IntN(64)+1)<<12
				if b > testWindow+pages<<12 {
					b = testWindow + pages<<12
				}
				prot := randProt()
				err = e.p.Protect(a, b, prot)
				wantErr = m.splits(a, b)
				if !wantErr {
					for v := a; v < b; v += 0x1000 {
						if p := m.pages[v]; p != nil {
							if prot == ProtNone {
								delete(m.pages, v)
							} else {
								p.prot = prot
								if a, _ := p.mt.Attr(); a.DeviceLike() {
									p.prot &^= ProtExec
								}
								if h := m.head(v); h.wired && prot&ProtWrite != 0 {
									h.modified = true
								}
							}
						}
					}
				}
			case 7: // ClearModified / ClearReferenced
				va := randVA()
				h := m.head(va)
				if r.IntN(2) == 0 {
					was := e.p.ClearModified(va)
					if h != nil && was != h.modified {
						t.Fatalf("seed %d step %d: ClearModified(%#x) = %v, model %v", seed, step, va, was, h.modified)
					}
					if h != nil && !h.wired {
						h.modified = false
					}
				} else {
					was := e.p.ClearReferenced(va)
					if h != nil && was != (h.referenced || h.wired) {
						t.Fatalf("seed %d step %d: ClearReferenced(%#x) = %v", seed, step, va, was)
					}
					if h != nil && !h.wired {
						h.referenced = false
					}
				}
			default: // touch: walk, upgrade on fault, walk again
				va := randVA() + uint32(r.IntN(1024))*4
				acc := Access(r.IntN(3))
				_, f, ok := e.hwWalk(va, acc)
				if !ok {
					up := e.p.Upgrade(&f)
					if up != 0 {
						h := m.head(va &^ 0xfff)
						h.referenced = true
						if up&UpgradedModified != 0 {
							h.modified = true
						}
					}
				}
				_, wantFS := m.expect(va&^0xfff, acc)
				if _, f, ok := e.hwWalk(va, acc); ok != (wantFS == 0) || !ok && f.FS() != wantFS {
					t.Fatalf("seed %d step %d: touch %v %#x: ok %v fault %+v, model FS %05b", seed, step, acc, va, ok, f, wantFS)
				}
			}
			if wantErr != (err != nil) {
				t.Fatalf("seed %d step %d: err %v, model expects error %v", seed, step, err, wantErr)
			}
			if err := e.p.CheckInvariants(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			for i := uint32(0); i < pages; i++ {
				va := testWindow + i<<12
				for acc := Read; acc <= Execute; acc++ {
					wantPA, wantFS := m.expect(va, acc)
					tr, f, ok := e.hwWalk(va+0x40, acc)
					if wantFS == 0 && (!ok || tr.PA != wantPA+0x40) || wantFS != 0 && (ok || f.FS() != wantFS) {
						t.Fatalf("seed %d step %d: %v %#x: ok %v pa %#x fault %+v; model pa %#x FS %05b",
							seed, step, acc, va, ok, tr.PA, f, wantPA, wantFS)
					}
					if ok && tr.Attr.Type() != m.pages[va].mt {
						t.Fatalf("seed %d step %d: %#x memory type %v, model %v", seed, step, va, tr.Attr.Type(), m.pages[va].mt)
					}
				}
				if h := m.head(va); h != nil {
					if e.p.IsModified(va) != h.modified || e.p.IsReferenced(va) != (h.referenced || h.wired) {
						t.Fatalf("seed %d step %d: %#x modified %v referenced %v, model %+v", seed, step, va,
							e.p.IsModified(va), e.p.IsReferenced(va), *h)
					}
				}
			}
			if e.p.Resident() != len(m.pages) {
				t.Fatalf("seed %d step %d: resident %d, model %d", seed, step, e.p.Resident(), len(m.pages))
			}
		}
		e.p.Destroy()
		if e.mem.Free() != 4 {
			t.Fatalf("tables leaked: %d free", e.mem.Free())
		}
	}
}

// splits reports whether [a, b) cuts a large page in the model.
func (m *model) splits(a, b uint32) bool {
	if a == b {
		return false
	}
	if p := m.pages[a]; p != nil && p.large && a&0xffff != 0 {
		return true
	}
	if p := m.pages[b-0x1000]; p != nil && p.large && b&0xffff != 0 {
		return true
	}
	return false
}
