package pmap

import (
	"errors"
	"slices"
	"testing"
)

const (
	testL1PA     = 0x80004000
	testTablesPA = 0x9ff00000
	testWindow   = 0xc0000000
	testRAM      = 0x90000000 // frames
	testRAMSize  = 0x10000000
)

type env struct {
	mem  *FakeMem
	mmu  *RecordingMMU
	p    *Pmap
	walk Walker // the tables as written
	// hw, when set, walks as the hardware would (coherence_test.go);
	// otherwise hwWalk uses walk.
	hw func(va uint32, acc Access) (Translation, Fault, bool)
}

func (e *env) hwWalk(va uint32, acc Access) (Translation, Fault, bool) {
	if e.hw != nil {
		return e.hw(va, acc)
	}
	return e.walk.Walk(va, acc)
}

func newEnv(t testing.TB, mibs uint32, tables int) *env {
	t.Helper()
	mem, err := NewFakeMem(testL1PA, testTablesPA, tables)
	if err != nil {
		t.Fatal(err)
	}
	mem.FlatMap(0x80000000, 0x80400000, 0x90000000)
	mmu := NewRecordingMMU(4096)
	p, err := New(Config{Base: testWindow, Size: mibs << 20, Phys: []Range{{testRAM, testRAMSize}},
		Mem: mem, Alloc: mem, MMU: mmu, CacheLine: 64})
	if err != nil {
		t.Fatal(err)
	}
	mmu.Reset()
	return &env{mem: mem, mmu: mmu, p: p, walk: Walker{Mem: mem, DACR: 1, AFE: true}}
}

func (e *env) check(t testing.TB) {
	t.Helper()
	if err := e.p.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// snapshot is every table word pmap could touch.
type snapshot struct {
	l1     [4096]uint32
	tables [][256]uint32
	free   int
	ops    int
}

func (e *env) snap() snapshot {
	return snapshot{l1: e.mem.l1, tables: slices.Clone(e.mem.tables), free: e.mem.Free(), ops: e.mmu.Total()}
}

func (s snapshot) equal(o snapshot) bool {
	return s.l1 == o.l1 && slices.Equal(s.tables, o.tables) && s.free == o.free && s.ops == o.ops
}

func ops(r *RecordingMMU) []MMUOp {
	var o []MMUOp
	for _, l := range r.Log {
		o = append(o, l.Op)
	}
	return o
}

func TestNewTakesOverOnlyItsWindow(t *testing.T) {
	mem, _ := NewFakeMem(testL1PA, testTablesPA, 8)
	mem.FlatMap(0x80000000, 0x80400000, 0x90000000)
	before := mem.l1
	mmu := NewRecordingMMU(64)
	p, err := New(Config{Base: testWindow, Size: 3 << 20, Phys: []Range{{testRAM, testRAMSize}}, Mem: mem, Alloc: mem, MMU: mmu})
	if err != nil {
		t.Fatal(err)
	}
	for i := range mem.l1 {
		in := i >= testWindow>>20 && i < testWindow>>20+3
		if in && mem.l1[i] != 0 || !in && mem.l1[i] != before[i] {
			t.Fatalf("L1[%#x] = %#x (was %#x)", i, mem.l1[i], before[i])
		}
	}
	// 3 entries = 12 bytes in one 32-byte line; then DSB, TLBIALL, BPIALL, DSB, ISB
	want := []MMUOp{OpCleanDCacheLine, OpDSB, OpInvalidateTLBAll, OpBPIALL, OpDSB, OpISB}
	if !slices.Equal(ops(mmu), want) || mmu.Log[0].Arg != testL1PA+testWindow>>20*4 {
		t.Errorf("upkeep %v %v", ops(mmu), mmu.Log)
	}
	if err := p.Enter(testWindow+0x101000, testRAM, ProtRead, MemNormal, Page4K, 0); err != nil {
		t.Fatal(err)
	}
	p.Destroy()
	if mem.l1 != before || mem.Free() != 8 {
		t.Errorf("Destroy did not restore the L1 table (free tables %d)", mem.Free())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	mem, _ := NewFakeMem(testL1PA, testTablesPA, 8)
	mmu := NewRecordingMMU(8)
	good := Config{Base: testWindow, Size: 1 << 20, Mem: mem, Alloc: mem, MMU: mmu}
	bad := []func(*Config){
		func(c *Config) { c.Base += 4096 },
		func(c *Config) { c.Size = 4096 },
		func(c *Config) { c.Size = 0 },
		func(c *Config) { c.Base, c.Size = 0xfff00000, 1<<20 },
		func(c *Config) { c.Mem = nil },
		func(c *Config) { c.Alloc = nil },
		func(c *Config) { c.MMU = nil },
		func(c *Config) { c.Domain = 16 },
		func(c *Config) { c.CacheLine = 48 },
		func(c *Config) { c.Phys = []Range{{0xf0000000, 0x20000000}} },
		func(c *Config) { c.Base = testL1PA &^ 0xfffff }, // L1 table inside the window
	}
	for i, f := range bad {
		c := good
		f(&c)
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if _, err := New(good); err != nil {
		t.Error(err)
	}
}

func TestEnterSmallUpkeep(t *testing.T) {
	e := newEnv(t, 2, 8)
	va := uint32(testWindow + 0x5000)
	if err := e.p.Enter(va, testRAM+0x3000, ProtRead|ProtWrite, MemNormal, Page4K, Accessed); err != nil {
		t.Fatal(err)
	}
	// a new table: 1024/64 = 16 line cleans, DSB, L1 write, clean, DSB, ISB
	o := ops(e.mmu)
	if len(o) != 20 || o[16] != OpDSB || o[17] != OpCleanDCacheLine || o[18] != OpDSB || o[19] != OpISB {
		t.Fatalf("new table upkeep %v", o)
	}
	if e.mmu.Log[17].Arg != testL1PA+testWindow>>20*4 || e.mmu.Log[0].Arg != testTablesPA {
		t.Errorf("cleaned %#x and %#x", e.mmu.Log[0].Arg, e.mmu.Log[17].Arg)
	}
	e.check(t)

	// a second page in the same table: clean the one line, DSB, ISB
	e.mmu.Reset()
	va2 := va + 0x1000
	if err := e.p.Enter(va2, testRAM+0x4000, ProtRead, MemNormal, Page4K, 0); err != nil {
		t.Fatal(err)
	}
	want := []MMUOp{OpCleanDCacheLine, OpDSB, OpISB}
	if !slices.Equal(ops(e.mmu), want) || e.mmu.Log[0].Arg&^63 != testTablesPA+6*4&^63 {
		t.Errorf("upkeep %v %+v", ops(e.mmu), e.mmu.Log)
	}
	// replacing it: clean, DSB, TLBIMVA, BPIALL, DSB, ISB
	e.mmu.Reset()
	if err := e.p.Enter(va2, testRAM+0x7000, ProtRead, MemNormal, Page4K, 0); err != nil {
		t.Fatal(err)
	}
	want = []MMUOp{OpCleanDCacheLine, OpDSB, OpInvalidateTLB, OpBPIALL, OpDSB, OpISB}
	if !slices.Equal(ops(e.mmu), want) || e.mmu.Log[2].Arg != va2 {
		t.Errorf("replace upkeep %v %+v", ops(e.mmu), e.mmu.Log)
	}
	if pa, ok := e.p.Extract(va2 + 0x123); !ok || pa != testRAM+0x7123 {
		t.Errorf("Extract = %#x %v", pa, ok)
	}
	if e.p.Resident() != 2 || e.p.Tables() != 1 {
		t.Errorf("resident %d tables %d", e.p.Resident(), e.p.Tables())
	}
	e.check(t)
}

func TestEnterBadInputLeavesTablesUnchanged(t *testing.T) {
	e := newEnv(t, 2, 2)
	w := uint32(testWindow)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.p.Enter(w+0x10000, testRAM, ProtRead, MemNormal, Page64K, 0))
	must(e.p.Enter(w+0x1000, testRAM, ProtRead, MemNormal, Page4K, 0))
	cases := []struct {
		name string
		va   uint32
		pa   uint32
		prot Prot
		mt   MemType
		size PageSize
		err  error
	}{
		{"unaligned va", w + 0x2100, testRAM, ProtRead, MemNormal, Page4K, ErrAlign},
		{"unaligned pa", w + 0x2000, testRAM + 0x10, ProtRead, MemNormal, Page4K, ErrAlign},
		{"large va not 64K aligned", w + 0x21000, testRAM, ProtRead, MemNormal, Page64K, ErrAlign},
		{"large pa not 64K aligned", w + 0x20000, testRAM + 0x1000, ProtRead, MemNormal, Page64K, ErrAlign},
		{"va below window", w - 0x1000, testRAM, ProtRead, MemNormal, Page4K, ErrRange},
		{"va above window", w + 2<<20, testRAM, ProtRead, MemNormal, Page4K, ErrRange},
		{"small inside large", w + 0x13000, testRAM, ProtRead, MemNormal, Page4K, ErrOverlap},
		{"large over small", w, testRAM, ProtRead, MemNormal, Page64K, ErrOverlap},
		{"pa below RAM", w + 0x2000, testRAM - 0x1000, ProtRead, MemNormal, Page4K, ErrPhys},
		{"pa above RAM", w + 0x2000, testRAM + testRAMSize, ProtRead, MemNormal, Page4K, ErrPhys},
		{"large straddles RAM end", w + 0x20000, testRAM + testRAMSize - 0x10000 + 0, ProtRead, MemNormal, Page64K, nil},
		{"no protection", w + 0x2000, testRAM, ProtNone, MemNormal, Page4K, ErrProt},
		{"unknown protection", w + 0x2000, testRAM, 8, MemNormal, Page4K, ErrProt},
		{"executable device", w + 0x2000, testRAM, ProtRead | ProtExec, MemDevice, Page4K, ErrProt},
		{"executable strongly-ordered", w + 0x2000, testRAM, ProtExec, MemStronglyOrdered, Page4K, ErrProt},
		{"MemOther", w + 0x2000, testRAM, ProtRead, MemOther, Page4K, ErrMemType},
		{"unknown type", w + 0x2000, testRAM, ProtRead, numMemTypes, Page4K, ErrMemType},
		{"unknown size", w + 0x2000, testRAM, ProtRead, MemNormal, 2, ErrSize},
	}
	for _, c := range cases {
		if c.err == nil {
			continue
		}
		before := e.snap()
		err := e.p.Enter(c.va, c.pa, c.prot, c.mt, c.size, 0)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
		if !before.equal(e.snap()) {
			t.Errorf("%s: tables or upkeep changed", c.name)
		}
	}
	// out of tables: the second MiB needs a table, and both are in use
	must(e.p.Enter(w+0x100000, testRAM, ProtRead, MemNormal, Page4K, 0))
	e3 := newEnv(t, 3, 2)
	must(e3.p.Enter(w, testRAM, ProtRead, MemNormal, Page4K, 0))
	must(e3.p.Enter(w+1<<20, testRAM, ProtRead, MemNormal, Page4K, 0))
	before := e3.snap()
	if err := e3.p.Enter(w+2<<20, testRAM, ProtRead, MemNormal, Page4K, 0); !errors.Is(err, ErrNoTable) {
		t.Errorf("out of tables: %v", err)
	}
	if !before.equal(e3.snap()) {
		t.Error("out of tables: tables changed")
	}
	e.check(t)
	e3.check(t)

	// an allocator handing out a table inside the window
	mem, _ := NewFakeMem(testL1PA, testWindow+0x100000, 2)
	p, err := New(Config{Base: testWindow, Size: 2 << 20, Phys: []Range{{testRAM, testRAMSize}},
		Mem: mem, Alloc: mem, MMU: NewRecordingMMU(0)})
	if err != nil {
		t.Fatal(err)
	}
	l1 := mem.l1
	if err := p.Enter(w, testRAM, ProtRead, MemNormal, Page4K, 0); !errors.Is(err, ErrNoTable) || mem.l1 != l1 || mem.Free() != 2 {
		t.Errorf("table inside the window: %v", err)
	}
}

func TestRemoveAndProtectBadInputLeaveTablesUnchanged(t *testing.T) {
	e := newEnv(t, 2, 4)
	w := uint32(testWindow)
	if err := e.p.Enter(w+0x10000, testRAM, ProtRead|ProtWrite, MemNormal, Page64K, Accessed); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		start, end uint32
		err        error
	}{
		{"unaligned start", w + 0x10, w + 0x1000, ErrAlign},
		{"unaligned end", w, w + 0x1001, ErrAlign},
		{"end before start", w + 0x2000, w + 0x1000, ErrRange},
		{"below window", w - 0x1000, w + 0x1000, ErrRange},
		{"beyond window", w, w + 2<<20 + 0x1000, ErrRange},
		{"splits large at start", w + 0x11000, w + 0x30000, ErrOverlap},
		{"splits large at end", w, w + 0x1f000, ErrOverlap},
	}
	for _, c := range cases {
		before := e.snap()
		if err := e.p.Remove(c.start, c.end); !errors.Is(err, c.err) {
			t.Errorf("Remove %s: %v", c.name, err)
		}
		if err := e.p.Protect(c.start, c.end, ProtRead); !errors.Is(err, c.err) {
			t.Errorf("Protect %s: %v", c.name, err)
		}
		if !before.equal(e.snap()) {
			t.Errorf("%s: tables changed", c.name)
		}
	}
	before := e.snap()
	if err := e.p.Protect(w, w+0x1000, 8); !errors.Is(err, ErrProt) || !before.equal(e.snap()) {
		t.Errorf("bad prot: %v", err)
	}
	// an empty range is fine and does nothing
	if err := e.p.Remove(w+0x3000, w+0x3000); err != nil || !before.equal(e.snap()) {
		t.Errorf("empty range: %v", err)
	}
	e.check(t)
}

func TestRemoveFreesEmptyTables(t *testing.T) {
	e := newEnv(t, 4, 4)
	w := uint32(testWindow)
	for i := uint32(0); i < 3; i++ {
		if err := e.p.Enter(w+i<<20+0x3000, testRAM+i*0x1000, ProtRead, MemNormal, Page4K, 0); err != nil {
			t.Fatal(err)
		}
	}
	if e.mem.Free() != 1 {
		t.Fatalf("free %d", e.mem.Free())
	}
	e.mmu.Reset()
	if err := e.p.Remove(w+1<<20, w+1<<20+0x4000); err != nil {
		t.Fatal(err)
	}
	if e.mem.Free() != 2 || e.p.Tables() != 2 || e.mem.l1[(w>>20)+1] != 0 {
		t.Errorf("table not freed: free %d", e.mem.Free())
	}
	// clean, DSB, TLBIMVA page; free: L1 fault, clean, DSB, TLBIMVA MiB, DSB; BPIALL, DSB, ISB
	want := []MMUOp{OpCleanDCacheLine, OpDSB, OpInvalidateTLB, OpCleanDCacheLine, OpDSB, OpInvalidateTLB, OpDSB, OpBPIALL, OpDSB, OpISB}
	if !slices.Equal(ops(e.mmu), want) || e.mmu.Log[2].Arg != w+1<<20+0x3000 || e.mmu.Log[5].Arg != w+1<<20 {
		t.Errorf("upkeep %v %+v", ops(e.mmu), e.mmu.Log)
	}
	if _, f, ok := e.walk.Walk(w+1<<20+0x3000, Read); ok || f.FS() != FSTranslationSection {
		t.Errorf("walk after free: %+v", f)
	}
	// removing many pages invalidates the whole TLB once (plus one page
	// of the third MiB and the two freed MiBs by address)
	for i := uint32(0); i < 40; i++ {
		if err := e.p.Enter(w+i<<12, testRAM, ProtRead, MemNormal, Page4K, 0); err != nil {
			t.Fatal(err)
		}
	}
	e.mmu.Reset()
	if err := e.p.Remove(w, w+4<<20); err != nil {
		t.Fatal(err)
	}
	if e.mmu.Counts[OpInvalidateTLBAll] != 1 || e.mmu.Counts[OpInvalidateTLB] != 3 || e.p.Tables() != 0 || e.mem.Free() != 4 {
		t.Errorf("counts %v tables %d free %d", e.mmu.Counts, e.p.Tables(), e.mem.Free())
	}
	e.check(t)
}

func mustFault(t *testing.T, w *Walker, va uint32, acc Access, fs uint32) Fault {
	t.Helper()
	tr, f, ok := w.Walk(va, acc)
	if ok || f.FS() != fs || f.Addr != va || f.Access != acc {
		t.Fatalf("%v %#x: ok %v pa %#x fault %+v, want FS %05b", acc, va, ok, tr.PA, f, fs)
	}
	return f
}

func mustWalk(t *testing.T, w *Walker, va uint32, acc Access, pa uint32) {
	t.Helper()
	tr, f, ok := w.Walk(va, acc)
	if !ok || tr.PA != pa {
		t.Fatalf("%v %#x: ok %v pa %#x fault %+v, want pa %#x", acc, va, ok, tr.PA, f, pa)
	}
}

func TestModifiedTrackedByWriteFaults(t *testing.T) {
	e := newEnv(t, 1, 2)
	va := uint32(testWindow + 0x4000)
	if err := e.p.Enter(va, testRAM+0x8000, ProtRead|ProtWrite, MemNormal, Page4K, Accessed); err != nil {
		t.Fatal(err)
	}
	mustWalk(t, &e.walk, va+4, Read, testRAM+0x8004)
	if e.p.IsModified(va) {
		t.Error("modified before any write")
	}
	f := mustFault(t, &e.walk, va+8, Write, FSPermissionPage)
	e.mmu.Reset()
	if up := e.p.Upgrade(&f); up != UpgradedModified {
		t.Fatalf("Upgrade = %v", up)
	}
	want := []MMUOp{OpCleanDCacheLine, OpDSB, OpInvalidateTLB, OpDSB, OpISB}
	if !slices.Equal(ops(e.mmu), want) || e.mmu.Log[2].Arg != va {
		t.Errorf("upgrade upkeep %v %+v", ops(e.mmu), e.mmu.Log)
	}
	mustWalk(t, &e.walk, va+8, Write, testRAM+0x8008)
	if !e.p.IsModified(va) || !e.p.ClearModified(va) || e.p.IsModified(va) {
		t.Error("modified state")
	}
	mustFault(t, &e.walk, va, Write, FSPermissionPage)
	// lowering protection keeps the page modified but read-only
	f = mustFault(t, &e.walk, va, Write, FSPermissionPage)
	e.p.Upgrade(&f)
	if err := e.p.Protect(va, va+0x1000, ProtRead); err != nil {
		t.Fatal(err)
	}
	mustFault(t, &e.walk, va, Write, FSPermissionPage)
	if !e.p.IsModified(va) {
		t.Error("Protect lost the modified state")
	}
	f = mustFault(t, &e.walk, va, Write, FSPermissionPage)
	if up := e.p.Upgrade(&f); up != 0 {
		t.Errorf("Upgrade made a read-only mapping writable: %v", up)
	}
	// raising it back: modified, so read-write at once
	if err := e.p.Protect(va, va+0x1000, ProtRead|ProtWrite); err != nil {
		t.Fatal(err)
	}
	mustWalk(t, &e.walk, va, Write, testRAM+0x8000)
	// entering for a write fault: read-write and modified at once
	va2 := va + 0x1000
	if err := e.p.Enter(va2, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, Accessed|Written); err != nil {
		t.Fatal(err)
	}
	mustWalk(t, &e.walk, va2, Write, testRAM)
	if !e.p.IsModified(va2) {
		t.Error("Written did not mark modified")
	}
	// Written on a read-only mapping does not make it writable
	if err := e.p.Enter(va2, testRAM+0x1000, ProtRead, MemNormal, Page4K, Accessed|Written); err != nil {
		t.Fatal(err)
	}
	mustFault(t, &e.walk, va2, Write, FSPermissionPage)
	e.check(t)
}

func TestReferencedTrackedByAccessFlag(t *testing.T) {
	e := newEnv(t, 1, 2)
	va := uint32(testWindow + 0x20000)
	if err := e.p.Enter(va, testRAM+0x30000, ProtRead|ProtWrite|ProtExec, MemNormal, Page64K, 0); err != nil {
		t.Fatal(err)
	}
	if e.p.IsReferenced(va) {
		t.Error("referenced before access")
	}
	for _, acc := range []Access{Read, Write, Execute} {
		mustFault(t, &e.walk, va+0x5004, acc, FSAccessFlagPage)
	}
	// an access flag fault on a write resolves both at once
	f := mustFault(t, &e.walk, va+0xf000, Write, FSAccessFlagPage)
	e.mmu.Reset()
	if up := e.p.Upgrade(&f); up != UpgradedReferenced|UpgradedModified {
		t.Fatalf("Upgrade = %v", up)
	}
	// a large page: its 16 entries share one 64-byte line; the TLB entry is the page's
	want := []MMUOp{OpCleanDCacheLine, OpDSB, OpInvalidateTLB, OpDSB, OpISB}
	if !slices.Equal(ops(e.mmu), want) || e.mmu.Log[2].Arg != va {
		t.Errorf("upkeep %v %+v", ops(e.mmu), e.mmu.Log)
	}
	for off := uint32(0); off < 0x10000; off += 0x1000 {
		mustWalk(t, &e.walk, va+off+0x10, Write, testRAM+0x30000+off+0x10)
		mustWalk(t, &e.walk, va+off, Execute, testRAM+0x30000+off)
	}
	if !e.p.IsReferenced(va+0x7000) || !e.p.ClearReferenced(va+0x3000) || e.p.IsReferenced(va) {
		t.Error("referenced state")
	}
	f = mustFault(t, &e.walk, va+0x9000, Read, FSAccessFlagPage)
	if up := e.p.Upgrade(&f); up != UpgradedReferenced {
		t.Errorf("Upgrade = %v", up)
	}
	mustWalk(t, &e.walk, va+0x9000, Write, testRAM+0x39000)
	if m, ok := e.p.Lookup(va + 0x9000); !ok || m != (Mapping{VA: va, PA: testRAM + 0x30000, Size: Page64K,
		Prot: ProtAll, Mem: MemNormal, Modified: true, Referenced: true}) {
		t.Errorf("Lookup = %+v", m)
	}
	e.check(t)
}

func TestUpgradeLeavesRealFaultsToVM(t *testing.T) {
	e := newEnv(t, 2, 2)
	w := uint32(testWindow)
	if err := e.p.Enter(w, testRAM, ProtRead, MemNormal, Page4K, Accessed); err != nil {
		t.Fatal(err)
	}
	faults := []Fault{
		mustFault(t, &e.walk, w, Write, FSPermissionPage),          // read-only
		mustFault(t, &e.walk, w, Execute, FSPermissionPage),        // XN
		mustFault(t, &e.walk, w+0x1000, Read, FSTranslationPage),   // not mapped
		mustFault(t, &e.walk, w+1<<20, Read, FSTranslationSection), // no table
		DecodeData(fsrWnR|FSPermissionPage, 0x80001000),            // outside the window
		DecodeData(fsrWnR|FSAlignment, w),                          // alignment
		DecodeData(fsrWnR|FSPermissionSection, w),                  // level 1
	}
	before := e.snap()
	for _, f := range faults {
		if up := e.p.Upgrade(&f); up != 0 {
			t.Errorf("Upgrade(%+v) = %v", f, up)
		}
	}
	if !before.equal(e.snap()) {
		t.Error("tables changed")
	}
}

func TestWiredPagesNeverFault(t *testing.T) {
	e := newEnv(t, 1, 2)
	va := uint32(testWindow + 0x8000)
	if err := e.p.Enter(va, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, Wired); err != nil {
		t.Fatal(err)
	}
	mustWalk(t, &e.walk, va, Write, testRAM)
	if e.p.ClearReferenced(va) != true || e.p.ClearModified(va) != true {
		t.Error("wired page not referenced and modified")
	}
	mustWalk(t, &e.walk, va, Write, testRAM)
	if e.p.WiredCount() != 1 {
		t.Errorf("wired %d", e.p.WiredCount())
	}
	if err := e.p.SetWired(va, false); err != nil || e.p.WiredCount() != 0 {
		t.Fatal(err)
	}
	e.p.ClearReferenced(va)
	mustFault(t, &e.walk, va, Read, FSAccessFlagPage)
	e.p.ClearModified(va)
	if err := e.p.SetWired(va, true); err != nil {
		t.Fatal(err)
	}
	mustWalk(t, &e.walk, va, Write, testRAM)
	if err := e.p.SetWired(va+0x1000, true); !errors.Is(err, ErrNotMapped) {
		t.Errorf("SetWired unmapped: %v", err)
	}
	e.check(t)
	if err := e.p.Remove(va, va+0x1000); err != nil || e.p.WiredCount() != 0 || e.p.Resident() != 0 {
		t.Errorf("remove wired: %v", err)
	}
	e.check(t)
}

func TestMemoryTypesReachTheDescriptor(t *testing.T) {
	e := newEnv(t, 1, 2)
	for mt := MemStronglyOrdered; mt < numMemTypes; mt++ {
		va := testWindow + uint32(mt)<<12
		if err := e.p.Enter(va, testRAM, ProtRead, mt, Page4K, Accessed); err != nil {
			t.Fatal(err)
		}
		tr, _, ok := e.walk.Walk(va, Read)
		if !ok || tr.Attr.Type() != mt {
			t.Errorf("%v: %+v", mt, tr)
		}
		if m, _ := e.p.Lookup(va); m.Mem != mt {
			t.Errorf("Lookup %v: %v", mt, m.Mem)
		}
	}
}

func TestNotGlobalSetsNG(t *testing.T) {
	for _, ng := range []bool{false, true} {
		mem, _ := NewFakeMem(testL1PA, testTablesPA, 2)
		p, err := New(Config{Base: testWindow, Size: 1 << 20, Phys: []Range{{testRAM, testRAMSize}},
			Mem: mem, Alloc: mem, MMU: NewRecordingMMU(0), NotGlobal: ng})
		if err != nil {
			t.Fatal(err)
		}
		p.Enter(testWindow, testRAM, ProtRead, MemNormal, Page4K, 0)
		p.Enter(testWindow+0x10000, testRAM, ProtRead, MemNormal, Page64K, 0)
		t2 := mem.Table(mem.l1[testWindow>>20] &^ 0x3ff)
		if t2 == nil || DecodeL2(t2[0]).Kind != L2Small || DecodeL2(t2[31]).Kind != L2Large ||
			DecodeL2(t2[0]).NG != ng || DecodeL2(t2[16]).NG != ng || DecodeL2(t2[31]).NG != ng {
			t.Errorf("NotGlobal %v: descriptors %#x %#x", ng, t2[0], t2[16])
		}
	}
}

func TestDeviceMemoryStaysExecuteNever(t *testing.T) {
	e := newEnv(t, 1, 2)
	va := uint32(testWindow + 0x2000)
	if err := e.p.Enter(va, testRAM, ProtRead|ProtWrite, MemDevice, Page4K, Accessed); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Protect(va, va+0x1000, ProtAll); err != nil {
		t.Fatal(err)
	}
	mustFault(t, &e.walk, va, Execute, FSPermissionPage)
	if m, _ := e.p.Lookup(va); m.Prot != ProtRead|ProtWrite {
		t.Errorf("Lookup prot %v", m.Prot)
	}
}

// DCCMVAC on a page with the access flag clear reports WnR=1 and CM=1:
// Upgrade sets the access flag and does not make the page modified.
func TestUpgradeCacheMaintenanceIsNotAWrite(t *testing.T) {
	e := newEnv(t, 1, 2)
	va := uint32(testWindow + 0x2000)
	if err := e.p.Enter(va, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, 0); err != nil {
		t.Fatal(err)
	}
	f := DecodeData(fsrCM|fsrWnR|FSAccessFlagPage, va)
	if up := e.p.Upgrade(&f); up != UpgradedReferenced || e.p.IsModified(va) {
		t.Errorf("Upgrade = %v, modified %v", up, e.p.IsModified(va))
	}
	mustFault(t, &e.walk, va, Write, FSPermissionPage)
}

func TestBusyPmapRefusesReentry(t *testing.T) {
	e := newEnv(t, 1, 2)
	e.p.busy = true
	before := e.snap()
	f := DecodeData(FSAccessFlagPage, testWindow)
	if err := e.p.Enter(testWindow, testRAM, ProtRead, MemNormal, Page4K, 0); !errors.Is(err, ErrBusy) ||
		!errors.Is(e.p.Remove(testWindow, testWindow+4096), ErrBusy) ||
		!errors.Is(e.p.Protect(testWindow, testWindow+4096, ProtRead), ErrBusy) || e.p.Upgrade(&f) != 0 {
		t.Error("busy pmap accepted a call")
	}
	if !before.equal(e.snap()) {
		t.Error("tables changed")
	}
}

func TestOperationsAllocateNothing(t *testing.T) {
	e := newEnv(t, 2, 4)
	w := uint32(testWindow)
	var err error
	n := testing.AllocsPerRun(200, func() {
		e.mmu.Reset()
		err = e.p.Enter(w+0x3000, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, 0)
		err = e.p.Enter(w+0x4000, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, Accessed|Written)
		err = e.p.Enter(w+0x10000, testRAM, ProtRead|ProtWrite, MemNormal, Page64K, Accessed)
		err = e.p.Remove(w+0x4000, w+0x5000)
		err = e.p.Protect(w, w+0x20000, ProtRead|ProtWrite)
		f := DecodeData(fsrWnR|FSAccessFlagPage, w+0x3000)
		e.p.Upgrade(&f)
		e.p.ClearModified(w + 0x3000)
		e.p.ClearReferenced(w + 0x3000)
		err = e.p.Protect(w, w+0x20000, ProtRead)
		err = e.p.Remove(w, w+1<<20)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
	if e.p.Tables() != 0 {
		t.Error("tables left")
	}
}
