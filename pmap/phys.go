package pmap

import "errors"

// PhysMem gives access to translation tables by physical address. On the
// target the tables are identity mapped (Identity, tamago only); on the
// host FakeMem keeps them in Go arrays. Tables must lie outside every
// window any Pmap manages, so pmap's own accesses never fault.
type PhysMem interface {
	// L1 returns the physical address of the first-level table (TTBR0)
	// and the table itself.
	L1() (pa uint32, t *[4096]uint32)
	// Table returns the 1 KiB second-level table at pa (1 KiB aligned),
	// or nil if pa is not table memory.
	Table(pa uint32) *[256]uint32
}

// TableAllocator supplies and takes back 1 KiB second-level tables. It is
// called with the Pmap's caller lock held and, on the fault path, on g0:
// it must not block.
type TableAllocator interface {
	// AllocTable returns the physical address of an unused 1 KiB aligned
	// table, or ok=false when none is left.
	AllocTable() (pa uint32, ok bool)
	// FreeTable returns a table obtained from AllocTable.
	FreeTable(pa uint32)
}

// MMU is the cache and TLB upkeep pmap needs, one method per operation.
// pmap calls them in the orders ARM ARM B3.10 and B2.2 prescribe (see the
// package doc); the methods add no barriers of their own.
type MMU interface {
	// CleanDCacheLine cleans the data cache line holding the physical
	// (identity-mapped) address pa to the point of coherency: DCCMVAC.
	CleanDCacheLine(pa uint32)
	// DSB is a data synchronization barrier.
	DSB()
	// ISB is an instruction synchronization barrier.
	ISB()
	// InvalidateTLB invalidates unified TLB entries for va: TLBIMVA.
	InvalidateTLB(va uint32)
	// InvalidateTLBAll invalidates the whole unified TLB: TLBIALL.
	InvalidateTLBAll()
	// InvalidateBranchPredictor invalidates all branch predictors: BPIALL.
	InvalidateBranchPredictor()
}

// Range is a physical address range [Start, Start+Size).
type Range struct {
	Start, Size uint32
}

// contains reports whether [pa, pa+n) lies inside r.
func (r Range) contains(pa, n uint32) bool {
	off := pa - r.Start
	return pa >= r.Start && off < r.Size && r.Size-off >= n
}

// TablePool is a TableAllocator over a contiguous physical region carved
// into 1 KiB tables. It allocates no memory after NewTablePool.
type TablePool struct {
	base uint32
	free []uint16 // stack of free table indices
	used []bool
}

// ErrPool reports a bad TablePool region.
var ErrPool = errors.New("pmap: table pool region not 1 KiB aligned or empty")

// NewTablePool manages n tables starting at base (1 KiB aligned).
func NewTablePool(base uint32, n int) (*TablePool, error) {
	if base&0x3ff != 0 || n <= 0 || n > 1<<16 || uint64(base)+uint64(n)<<10 > 1<<32 {
		return nil, ErrPool
	}
	p := &TablePool{base: base, free: make([]uint16, n), used: make([]bool, n)}
	for i := range p.free {
		p.free[i] = uint16(n - 1 - i)
	}
	return p, nil
}

// AllocTable implements TableAllocator.
func (p *TablePool) AllocTable() (uint32, bool) {
	if len(p.free) == 0 {
		return 0, false
	}
	i := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.used[i] = true
	return p.base + uint32(i)<<10, true
}

// FreeTable implements TableAllocator. Freeing a table twice, or one the
// pool does not own, panics: it is a pmap bug.
func (p *TablePool) FreeTable(pa uint32) {
	i := (pa - p.base) >> 10
	if pa < p.base || pa&0x3ff != 0 || int(i) >= len(p.used) || !p.used[i] {
		panic("pmap: FreeTable of a table not allocated from this pool")
	}
	p.used[i] = false
	p.free = append(p.free, uint16(i))
}

// Free returns the number of free tables.
func (p *TablePool) Free() int { return len(p.free) }

// FakeMem is host physical memory for translation tables: an L1 table at
// L1PA and a pool of L2 tables at TablesPA, all in Go memory.
type FakeMem struct {
	*TablePool
	l1     [4096]uint32
	l1pa   uint32
	tables [][256]uint32
}

// NewFakeMem makes fake table memory: the L1 table at l1pa (16 KiB
// aligned) and n L2 tables from tablesPA (1 KiB aligned).
func NewFakeMem(l1pa, tablesPA uint32, n int) (*FakeMem, error) {
	if l1pa&0x3fff != 0 {
		return nil, ErrPool
	}
	pool, err := NewTablePool(tablesPA, n)
	if err != nil {
		return nil, err
	}
	return &FakeMem{TablePool: pool, l1pa: l1pa, tables: make([][256]uint32, n)}, nil
}

// L1 implements PhysMem.
func (m *FakeMem) L1() (uint32, *[4096]uint32) { return m.l1pa, &m.l1 }

// Table implements PhysMem.
func (m *FakeMem) Table(pa uint32) *[256]uint32 {
	i := (pa - m.base) >> 10
	if pa < m.base || pa&0x3ff != 0 || int(i) >= len(m.tables) {
		return nil
	}
	return &m.tables[i]
}

// FlatMap fills the L1 table as TamaGo's InitMMU does (arm/mmu.go): 1 MiB
// sections mapping all 4 GiB flat, domain 0, AP=0b001; [ramStart, ramEnd)
// normal write-back, executable below textEnd; everything else TEX=000
// C=0 B=0 (TamaGo's DeviceRegion, strongly-ordered) and execute-never. (TamaGo's L2 tables for the first MiB and the text
// boundary are not modelled: those are sections here.)
func (m *FakeMem) FlatMap(ramStart, textEnd, ramEnd uint32) {
	for i := range m.l1 {
		addr := uint32(i) << 20
		d := L1Desc{Kind: L1Section, Base: addr, AP: APAccessFlag, Attr: memTypeAttr[MemStronglyOrdered], XN: true}
		switch {
		case addr >= ramStart && addr < textEnd:
			d.Attr, d.XN = memTypeAttr[MemNormal], false
		case addr >= ramStart && addr < ramEnd:
			d.Attr = memTypeAttr[MemNormal]
		}
		m.l1[i], _ = d.Encode()
	}
}

// MMUOp names an upkeep operation recorded by RecordingMMU.
type MMUOp uint8

const (
	OpCleanDCacheLine MMUOp = iota
	OpDSB
	OpISB
	OpInvalidateTLB
	OpInvalidateTLBAll
	OpBPIALL
	numMMUOps
)

func (o MMUOp) String() string {
	return [...]string{"DCCMVAC", "DSB", "ISB", "TLBIMVA", "TLBIALL", "BPIALL", "?"}[min(int(o), int(numMMUOps))]
}

// MMURecord is one recorded operation and its argument.
type MMURecord struct {
	Op  MMUOp
	Arg uint32
}

// RecordingMMU is the host MMU: it counts every operation and logs them
// in order into a log of fixed capacity (operations past it are counted,
// not logged), so recording allocates nothing.
type RecordingMMU struct {
	Counts  [numMMUOps]int
	Log     []MMURecord
	Dropped int
}

// NewRecordingMMU returns a recorder whose log holds up to n operations.
func NewRecordingMMU(n int) *RecordingMMU {
	return &RecordingMMU{Log: make([]MMURecord, 0, n)}
}

func (r *RecordingMMU) rec(op MMUOp, arg uint32) {
	r.Counts[op]++
	if len(r.Log) < cap(r.Log) {
		r.Log = append(r.Log, MMURecord{op, arg})
	} else {
		r.Dropped++
	}
}

// Reset clears counts and log.
func (r *RecordingMMU) Reset() {
	r.Counts = [numMMUOps]int{}
	r.Log = r.Log[:0]
	r.Dropped = 0
}

// Total returns the number of operations since the last Reset.
func (r *RecordingMMU) Total() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

func (r *RecordingMMU) CleanDCacheLine(pa uint32)  { r.rec(OpCleanDCacheLine, pa) }
func (r *RecordingMMU) DSB()                       { r.rec(OpDSB, 0) }
func (r *RecordingMMU) ISB()                       { r.rec(OpISB, 0) }
func (r *RecordingMMU) InvalidateTLB(va uint32)    { r.rec(OpInvalidateTLB, va) }
func (r *RecordingMMU) InvalidateTLBAll()          { r.rec(OpInvalidateTLBAll, 0) }
func (r *RecordingMMU) InvalidateBranchPredictor() { r.rec(OpBPIALL, 0) }
