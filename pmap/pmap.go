package pmap

import (
	"errors"
	"fmt"
	"math/bits"
)

// PageSize is a mapping size.
type PageSize uint8

const (
	Page4K  PageSize = iota // small page, one L2 entry
	Page64K                 // large page, 16 identical L2 entries
)

// Bytes returns the size in bytes, 0 for an unknown size.
func (s PageSize) Bytes() uint32 {
	switch s {
	case Page4K:
		return 4 << 10
	case Page64K:
		return 64 << 10
	}
	return 0
}

// Prot is a protection, as Mach's vm_prot_t. ARM cannot map a page
// without read access: any mapping is readable at PL1.
type Prot uint8

const (
	ProtNone  Prot = 0
	ProtRead  Prot = 1 << 0
	ProtWrite Prot = 1 << 1
	ProtExec  Prot = 1 << 2
	ProtAll        = ProtRead | ProtWrite | ProtExec
)

// EnterFlags qualify Enter.
type EnterFlags uint8

const (
	// Wired: the mapping never faults (entered accessed and, if writable,
	// written); it counts as referenced, and as modified when writable,
	// until unwired.
	Wired EnterFlags = 1 << iota
	// Accessed: set the access flag now (the page is referenced), as when
	// entering in answer to a fault. Without it the first access takes an
	// access-flag fault that Upgrade resolves.
	Accessed
	// Written: map a writable page read-write now and mark it modified,
	// as when entering in answer to a write fault. Without it the first
	// write takes a permission fault that Upgrade resolves.
	Written
)

// Upgraded says what Upgrade did.
type Upgraded uint8

const (
	UpgradedReferenced Upgraded = 1 << iota // access flag set
	UpgradedModified                        // made writable, marked modified
)

// Errors returned by Pmap methods. Every error leaves the tables unchanged.
var (
	ErrConfig    = errors.New("pmap: bad configuration")
	ErrAlign     = errors.New("pmap: address not aligned to the page size")
	ErrRange     = errors.New("pmap: address outside the window")
	ErrPhys      = errors.New("pmap: physical address outside the allowed ranges")
	ErrOverlap   = errors.New("pmap: small page inside a large page, or the reverse")
	ErrProt      = errors.New("pmap: bad protection")
	ErrMemType   = errors.New("pmap: bad memory type")
	ErrSize      = errors.New("pmap: bad page size")
	ErrNoTable   = errors.New("pmap: out of L2 tables")
	ErrNotMapped = errors.New("pmap: address not mapped")
	ErrBusy      = errors.New("pmap: re-entered while busy")
)

// Software state per L2 entry (sw), kept in the head entry of a large
// page. The hardware descriptor holds the rest: validity, frame, memory
// type, XN (exec), AP[0] (referenced) and AP[2] (currently read-only).
const (
	swWrite    = 1 << 0 // the mapping's protection includes write
	swModified = 1 << 1 // written since entered or since ClearModified
	swWired    = 1 << 2
)

// slot is the state of one L1 entry (1 MiB) of the window.
type slot struct {
	hw    *[256]uint32 // the L2 table, nil when the L1 entry is a fault
	pa    uint32       // physical address of hw
	n     uint16       // valid L2 entries (16 per large page)
	saved uint32       // the L1 entry found at New, restored by Destroy
	sw    [256]uint8
}

// Config describes a Pmap.
type Config struct {
	// Base and Size give the virtual-address window, both 1 MiB aligned;
	// the window ends below 4 GiB.
	Base, Size uint32
	// Phys lists the physical ranges Enter may map.
	Phys []Range
	// Mem, Alloc and MMU are the table memory, L2 table allocator and
	// upkeep operations (host: FakeMem, RecordingMMU; target: Identity,
	// Hardware).
	Mem   PhysMem
	Alloc TableAllocator
	MMU   MMU
	// Domain is the domain of the window's L1 page-table descriptors
	// (TamaGo makes domain 0 a client).
	Domain uint8
	// NotGlobal sets nG in every page descriptor (for ASIDs, later).
	NotGlobal bool
	// CacheLine is the smallest D-cache line in bytes (CTR.DminLine);
	// 0 means 32, the smallest of ARMv7 and so always safe.
	CacheLine uint32
}

// Pmap owns the MMU for one virtual-address window. It is not safe for
// concurrent use: see the package doc for who serialises calls.
type Pmap struct {
	base, size uint32
	first      uint32 // L1 index of base
	slots      []slot
	l1         *[4096]uint32
	l1pa       uint32
	mem        PhysMem
	alloc      TableAllocator
	mmu        MMU
	phys       []Range
	tableDesc  uint32 // L1 page-table descriptor bits other than the base
	ngBits     uint32 // nG (bit 11) when NotGlobal
	line       uint32
	wired      int // wired bytes / 4 KiB
	busy       bool
	destroyed  bool

	// For the fast paths: the upkeep of one descriptor; the small-page
	// descriptor bits (all but the base and AP[0], read-only) for each
	// protection and memory type, indexed by prot|mt<<3, 0 when Enter
	// refuses the pair; and the first physical range as pa-physLo <=
	// physSpan, for pa of a 4 KiB page.
	entryUpkeep
	smallDesc        [64]uint32
	physLo, physSpan uint32
}

// New takes over the L1 entries of the window: it saves them, makes them
// faults and invalidates the TLB. Every other L1 entry is left alone.
// Windows of different Pmaps must not overlap.
func New(c Config) (*Pmap, error) {
	if c.Base&0xfffff != 0 || c.Size&0xfffff != 0 || c.Size == 0 ||
		uint64(c.Base)+uint64(c.Size) >= 1<<32 || c.Mem == nil || c.Alloc == nil ||
		c.MMU == nil || c.Domain > 15 {
		return nil, ErrConfig
	}
	line := c.CacheLine
	if line == 0 {
		line = 32
	}
	if line&(line-1) != 0 || line < 16 || line > 1024 {
		return nil, ErrConfig
	}
	for _, r := range c.Phys {
		if r.Size == 0 || uint64(r.Start)+uint64(r.Size) > 1<<32 {
			return nil, ErrConfig
		}
	}
	l1pa, l1 := c.Mem.L1()
	if l1 == nil || l1pa&0x3fff != 0 || l1pa-c.Base < c.Size && l1pa >= c.Base {
		return nil, ErrConfig // the L1 table must not be inside the window
	}
	p := &Pmap{
		base: c.Base, size: c.Size, first: c.Base >> 20,
		slots: make([]slot, c.Size>>20),
		l1:    l1, l1pa: l1pa,
		mem: c.Mem, alloc: c.Alloc, mmu: c.MMU,
		phys:      append([]Range(nil), c.Phys...),
		tableDesc: uint32(c.Domain)<<5 | 1,
		ngBits:    b2u(c.NotGlobal) << 11,
		line:      line,
	}
	p.entryUpkeep = newEntryUpkeep(c.MMU)
	for prot := ProtRead; prot <= ProtAll; prot++ {
		for mt := MemStronglyOrdered; mt < numMemTypes; mt++ {
			if prot&ProtExec != 0 && (mt == MemDevice || mt == MemStronglyOrdered) {
				continue
			}
			d := pteAttrBits[Page4K][mt] | p.ngBits | pteAP2
			if prot&ProtExec == 0 {
				d |= pteXNs
			}
			p.smallDesc[uint32(prot)|uint32(mt)<<3] = d
		}
	}
	p.physLo, p.physSpan = 1, 0 // no page: pa is aligned, never 1
	if len(c.Phys) > 0 && c.Phys[0].Size >= 4096 {
		p.physLo, p.physSpan = c.Phys[0].Start, c.Phys[0].Size-4096
	}
	m := p.mmu
	for i := range p.slots {
		k := p.first + uint32(i)
		p.slots[i].saved = l1[k]
		l1[k] = 0
	}
	p.cleanRange(l1pa+p.first*4, uint32(len(p.slots))*4)
	m.DSB()
	m.InvalidateTLBAll()
	m.InvalidateBranchPredictor()
	m.DSB()
	m.ISB()
	return p, nil
}

// Base returns the start of the window.
func (p *Pmap) Base() uint32 { return p.base }

// Size returns the size of the window.
func (p *Pmap) Size() uint32 { return p.size }

// Resident returns the number of mapped 4 KiB pages (16 per large page).
func (p *Pmap) Resident() int {
	n := 0
	for i := range p.slots {
		n += int(p.slots[i].n)
	}
	return n
}

// WiredCount returns the number of wired 4 KiB pages.
func (p *Pmap) WiredCount() int { return p.wired }

// Tables returns the number of L2 tables in use.
func (p *Pmap) Tables() int {
	n := 0
	for i := range p.slots {
		if p.slots[i].hw != nil {
			n++
		}
	}
	return n
}

// cleanRange cleans the D-cache lines covering [pa, pa+n) (n > 0).
func (p *Pmap) cleanRange(pa, n uint32) {
	end := pa + n
	for a := pa &^ (p.line - 1); a < end; a += p.line {
		p.mmu.CleanDCacheLine(a)
	}
}

func (p *Pmap) inWindow(va, n uint32) bool {
	off := va - p.base
	return va >= p.base && off < p.size && p.size-off >= n
}

func (p *Pmap) physOK(pa, n uint32) bool {
	for _, r := range p.phys {
		if r.contains(pa, n) {
			return true
		}
	}
	return false
}

// Enter maps [va, va+size) to [pa, pa+size) with protection prot and
// memory type mt. A mapping of the same size at va is replaced (keeping
// its modified and referenced state when pa is unchanged); a mapping of
// the other size inside the range is an error (ErrOverlap). prot must
// allow read, write or execute; read is implied. Device and
// Strongly-ordered memory cannot be executable (ErrProt).
//
// Enter needs no stack check of its own (go:nosplit): its frame is small
// and what it calls checks its own.
//
//go:nosplit
func (p *Pmap) Enter(va, pa uint32, prot Prot, mt MemType, size PageSize, flags EnterFlags) error {
	// The fault path's case first: one small page, not wired, into an
	// existing table where nothing is mapped yet, the arguments valid
	// (smallDesc is 0 for a bad prot or mt) and pa in the first physical
	// range. The checks are those of enter below, which takes every
	// other case and returns the errors. Nothing here can fault, so it
	// needs no busy marking of its own.
	off := va - p.base
	d := p.smallDesc[(uint32(prot)|uint32(mt)<<3)&63]
	if (va|pa)&0xfff|uint32(size)|uint32(flags&Wired)|(uint32(prot)|uint32(mt))&^7 == 0 &&
		d != 0 && off < p.size && pa-p.physLo <= p.physSpan && !p.busy {
		s := &p.slots[off>>20]
		idx := va >> 12 & 0xff
		if t := s.hw; t != nil && t[idx] == 0 {
			e := d | pa | uint32(flags&Accessed)<<3 // AP[0]
			sw := uint8(prot>>1) & swWrite
			if flags&Written != 0 && sw != 0 {
				e &^= pteAP2
				sw |= swModified
			}
			t[idx] = e
			s.sw[idx] = sw
			s.n++
			p.syncNew(s.pa+idx*4, va)
			return nil
		}
	}
	return p.enter(va, pa, prot, mt, size, flags)
}

// enter is Enter for every case.
func (p *Pmap) enter(va, pa uint32, prot Prot, mt MemType, size PageSize, flags EnterFlags) error {
	if p.busy {
		return ErrBusy
	}
	if size > Page64K {
		return ErrSize
	}
	n := uint32(4096) << (4 * uint32(size)) // 4 KiB or 64 KiB
	if (va|pa)&(n-1) != 0 {
		return ErrAlign
	}
	if !p.inWindow(va, n) {
		return ErrRange
	}
	if prot-1 >= ProtAll { // ProtNone wraps around
		return ErrProt
	}
	if mt-1 >= numMemTypes-1 { // MemOther wraps around
		return ErrMemType
	}
	e := pteAttrBits[size][mt] | pa | p.ngBits
	if prot&ProtExec == 0 {
		e |= pteXNBit[size]
	} else if mt == MemDevice || mt == MemStronglyOrdered {
		return ErrProt // speculative fetches must never reach devices
	}
	if !p.physOK(pa, n) {
		return ErrPhys
	}
	s := &p.slots[(va-p.base)>>20]
	idx := va >> 12 & 0xff
	cnt := uint32(1)
	if size == Page64K {
		cnt = 16
	}
	var old uint32 // the replaced descriptor, 0 if none
	if s.hw != nil {
		old = s.hw[idx]
		if size == Page4K {
			if old&3 == 1 {
				return ErrOverlap
			}
		} else {
			for i := idx; i < idx+16; i++ {
				if s.hw[i]&2 != 0 { // a small page
					return ErrOverlap
				}
			}
		}
	}
	m := p.mmu
	fresh := s.hw == nil
	if fresh {
		tpa, ok := p.alloc.AllocTable()
		if !ok {
			return ErrNoTable
		}
		t := p.mem.Table(tpa)
		if t == nil || tpa&0x3ff != 0 || p.inWindow(tpa, 1) {
			// not table memory, or inside the window: touching it
			// could fault
			p.alloc.FreeTable(tpa)
			return ErrNoTable
		}
		*t = [256]uint32{}
		s.hw, s.pa, s.n, s.sw = t, tpa, 0, [256]uint8{}
	}
	p.busy = true

	// Software state and AP bits.
	sw := uint8(0)
	if prot&ProtWrite != 0 {
		sw = swWrite
	}
	if flags&Wired != 0 {
		sw |= swWired
		flags |= Accessed | Written
		p.wired += int(cnt)
	}
	if old == 0 {
		s.n += uint16(cnt)
	} else {
		if old&^(n-1) == pa {
			// same frame: keep what was learnt about it
			sw |= s.sw[idx] & swModified
			flags |= EnterFlags(old>>4&1) * Accessed // AP[0]
		}
		if s.sw[idx]&swWired != 0 {
			p.wired -= int(cnt)
		}
	}
	if flags&Written != 0 && sw&swWrite != 0 {
		sw |= swModified
	}
	if flags&Accessed != 0 {
		e |= pteAP0
	}
	if sw&(swWrite|swModified) != swWrite|swModified {
		e |= pteAP2
	}
	s.sw[idx] = sw
	if cnt == 1 {
		s.hw[idx] = e
	} else {
		for i := idx; i < idx+16; i++ {
			s.hw[i] = e
		}
		for i := idx + 1; i < idx+16; i++ {
			s.sw[i] = 0
		}
	}

	// Upkeep (package doc, "Upkeep sequences").
	if fresh {
		p.cleanRange(s.pa, 1024)
		m.DSB()
		k := p.first + (va-p.base)>>20
		p.l1[k] = s.pa | p.tableDesc
		m.CleanDCacheLine(p.l1pa + k*4)
		m.DSB()
		m.ISB()
	} else {
		switch {
		case cnt == 1 && old == 0:
			p.syncNew(s.pa+idx*4, va)
		case cnt == 1:
			p.syncReplace(s.pa+idx*4, va)
		default:
			p.cleanRange(s.pa+idx*4, cnt*4)
			m.DSB()
			if old != 0 {
				m.InvalidateTLB(va)
				m.InvalidateBranchPredictor()
				m.DSB()
			}
			m.ISB()
		}
	}
	p.busy = false
	return nil
}

// Enter's fast path moves flag and protection bits into descriptor and
// software-state bits by shifting; each line fails to compile if a
// position it relies on changes.
var (
	_ = [1]struct{}{}[uint32(Accessed)<<3^pteAP0]
	_ = [1]struct{}{}[uint32(ProtWrite)>>1^swWrite]
)

// pteAttrBits holds, per page size and memory type, the bits of a page
// descriptor other than the base, AP, XN and nG: the kind and TEX/C/B.
// pteXNBit is the XN bit per page size.
var (
	pteAttrBits = func() (t [2][numMemTypes]uint32) {
		for mt := MemStronglyOrdered; mt < numMemTypes; mt++ {
			a := memTypeAttr[mt]
			t[Page4K][mt] = smallPTE(0, a, 0, false, false)
			t[Page64K][mt] = largePTE(0, a, 0, false, false)
		}
		return t
	}()
	pteXNBit = [2]uint32{pteXNs, pteXNl}
)

// checkRange validates [start, end) for Remove and Protect: 4 KiB
// aligned, inside the window, not splitting a large page.
func (p *Pmap) checkRange(start, end uint32) error {
	if start&0xfff != 0 || end&0xfff != 0 {
		return ErrAlign
	}
	if end < start || !p.inWindow(start, end-start) {
		return ErrRange
	}
	if start == end {
		return nil
	}
	if start&0xffff != 0 && p.isLarge(start) {
		return ErrOverlap
	}
	if end&0xffff != 0 && p.isLarge(end-4096) {
		return ErrOverlap
	}
	return nil
}

func (p *Pmap) isLarge(va uint32) bool {
	s := &p.slots[(va-p.base)>>20]
	return s.hw != nil && s.hw[va>>12&0xff]&3 == 1
}

const (
	opRemove = iota
	opProtect
)

// tlbBatchLimit is the number of pages above which a range operation
// invalidates the whole TLB instead of each page.
const tlbBatchLimit = 32

// Remove unmaps every page in [start, end). Mappings' modified and
// referenced state is forgotten: read it first (Lookup) if it matters.
// L2 tables left empty are freed.
//
// Remove needs no stack check of its own (go:nosplit): its frame is small
// and what it calls checks its own.
//
//go:nosplit
func (p *Pmap) Remove(start, end uint32) error {
	// One small page from a table that keeps other mappings: the fault
	// path's and eviction's case, without the range machinery. Any other
	// case, errors included, is rangeOp's.
	if off := start - p.base; end-start == 4096 && start&0xfff == 0 && off < p.size && !p.busy {
		s := &p.slots[off>>20]
		i := start >> 12 & 0xff
		if t := s.hw; t != nil && t[i]&2 != 0 && s.n > 1 {
			if s.sw[i]&swWired != 0 {
				p.wired--
			}
			t[i] = 0
			s.sw[i] = 0
			s.n--
			p.syncReplace(s.pa+i*4, start)
			return nil
		}
	}
	if p.busy {
		return ErrBusy
	}
	if err := p.checkRange(start, end); err != nil {
		return err
	}
	p.rangeOp(start, end, opRemove, 0)
	return nil
}

// Protect sets the protection of every mapped page in [start, end) to
// prot (Mach pmap_protect; raising is allowed too: a page given write is
// still mapped read-only until its first write unless it is modified).
// ProtNone removes the pages, as Mach does. Device and Strongly-ordered
// pages stay execute-never whatever prot says.
func (p *Pmap) Protect(start, end uint32, prot Prot) error {
	if p.busy {
		return ErrBusy
	}
	if prot&^ProtAll != 0 {
		return ErrProt
	}
	if err := p.checkRange(start, end); err != nil {
		return err
	}
	if prot == ProtNone {
		p.rangeOp(start, end, opRemove, 0)
	} else {
		p.rangeOp(start, end, opProtect, prot)
	}
	return nil
}

// rangeOp applies op to every valid entry of [start, end), which
// checkRange accepted.
func (p *Pmap) rangeOp(start, end uint32, op int, prot Prot) {
	p.busy = true
	m := p.mmu
	all := false
	changedAny := false
	for va := start; va < end; {
		mib := va &^ 0xfffff
		stop := mib + 1<<20
		if stop > end {
			stop = end
		}
		s := &p.slots[(va-p.base)>>20]
		if s.hw == nil {
			va = stop
			continue
		}
		i0, i1 := va>>12&0xff, (stop-mib)>>12
		var changed [8]uint32 // bitmap of the head indices of changed entries
		nchanged := 0
		lo, hi := uint32(256), uint32(0)
		for i := i0; i < i1; {
			e := s.hw[i]
			if e&3 == 0 {
				i++
				continue
			}
			cnt := uint32(1)
			if e&3 == 1 {
				cnt = 16
			}
			var ne uint32
			if op == opRemove {
				sw := s.sw[i]
				if sw&swWired != 0 {
					p.wired -= int(cnt)
				}
				s.n -= uint16(cnt)
				s.sw[i] = 0
			} else {
				ne = protectPTE(e, &s.sw[i], prot)
			}
			if ne != e {
				for k := i; k < i+cnt; k++ {
					s.hw[k] = ne
				}
				changed[i>>5] |= 1 << (i & 31)
				nchanged++
				lo, hi = min(lo, i), max(hi, i+cnt)
			}
			i += cnt
		}
		if nchanged > 0 {
			changedAny = true
			p.cleanRange(s.pa+lo*4, (hi-lo)*4)
			m.DSB()
			if nchanged > tlbBatchLimit {
				all = true
			} else {
				for w := lo >> 5; w <= (hi-1)>>5; w++ {
					for bm := changed[w]; bm != 0; bm &= bm - 1 {
						b := uint32(bits.TrailingZeros32(bm))
						m.InvalidateTLB(mib | (w<<5|b)<<12)
					}
				}
			}
		}
		if s.hw != nil && s.n == 0 {
			p.freeTable(s, mib)
		}
		va = stop
	}
	if changedAny {
		if all {
			m.InvalidateTLBAll()
		}
		if op == opRemove {
			m.InvalidateBranchPredictor()
		}
		m.DSB()
		m.ISB()
	}
	p.busy = false
}

// protectPTE returns e with the protection prot, updating its sw state.
func protectPTE(e uint32, sw *uint8, prot Prot) uint32 {
	xnBit := uint32(pteXNs)
	attr := makeAttr(e>>6, e>>3, e>>2)
	if e&3 == 1 {
		xnBit = pteXNl
		attr = makeAttr(e>>12, e>>3, e>>2)
	}
	if prot&ProtExec != 0 && !attr.DeviceLike() {
		e &^= xnBit
	} else {
		e |= xnBit
	}
	if prot&ProtWrite != 0 {
		*sw |= swWrite
		if *sw&swWired != 0 {
			*sw |= swModified // a wired page never faults
		}
	} else {
		*sw &^= swWrite
	}
	if *sw&(swWrite|swModified) == swWrite|swModified {
		e &^= pteAP2
	} else {
		e |= pteAP2
	}
	return e
}

// freeTable gives back the empty L2 table of s (the 1 MiB at mib).
func (p *Pmap) freeTable(s *slot, mib uint32) {
	m := p.mmu
	k := mib >> 20
	p.l1[k] = 0
	m.CleanDCacheLine(p.l1pa + k*4)
	m.DSB()
	m.InvalidateTLB(mib) // also drops a cached walk of the L1 entry
	m.DSB()
	p.alloc.FreeTable(s.pa)
	s.hw, s.pa, s.n = nil, 0, 0
}

// entry returns the slot and the head index of the valid mapping at va.
func (p *Pmap) entry(va uint32) (*slot, uint32, bool) {
	if !p.inWindow(va, 1) {
		return nil, 0, false
	}
	s := &p.slots[(va-p.base)>>20]
	if s.hw == nil {
		return nil, 0, false
	}
	i := va >> 12 & 0xff
	e := s.hw[i]
	switch e & 3 {
	case 0:
		return nil, 0, false
	case 1:
		i &^= 15
	}
	return s, i, true
}

// Mapping describes one mapping, as Lookup reports it.
type Mapping struct {
	VA, PA     uint32 // start of the page
	Size       PageSize
	Prot       Prot
	Mem        MemType
	Wired      bool
	Modified   bool
	Referenced bool
}

// Lookup returns the mapping containing va.
func (p *Pmap) Lookup(va uint32) (Mapping, bool) {
	s, i, ok := p.entry(va)
	if !ok {
		return Mapping{}, false
	}
	e, sw := s.hw[i], s.sw[i]
	mp := Mapping{Prot: ProtRead, Wired: sw&swWired != 0, Modified: sw&swModified != 0,
		Referenced: e&pteAP0 != 0}
	if sw&swWrite != 0 {
		mp.Prot |= ProtWrite
	}
	if e&3 == 1 {
		d := DecodeL2(e)
		mp.Size, mp.PA, mp.VA, mp.Mem = Page64K, d.Base, va&^0xffff, d.Attr.Type()
		if !d.XN {
			mp.Prot |= ProtExec
		}
	} else {
		d := DecodeL2(e)
		mp.Size, mp.PA, mp.VA, mp.Mem = Page4K, d.Base, va&^0xfff, d.Attr.Type()
		if !d.XN {
			mp.Prot |= ProtExec
		}
	}
	return mp, true
}

// Extract returns the physical address va maps to (Mach pmap_extract).
func (p *Pmap) Extract(va uint32) (uint32, bool) {
	s, i, ok := p.entry(va)
	if !ok {
		return 0, false
	}
	e := s.hw[i]
	if e&3 == 1 {
		return e&^0xffff | va&0xffff, true
	}
	return e&^0xfff | va&0xfff, true
}

// IsModified reports whether the page at va was written since it was
// entered or since ClearModified (false if not mapped).
func (p *Pmap) IsModified(va uint32) bool {
	s, i, ok := p.entry(va)
	return ok && s.sw[i]&swModified != 0
}

// IsReferenced reports whether the page at va was accessed since it was
// entered or since ClearReferenced (its access flag).
func (p *Pmap) IsReferenced(va uint32) bool {
	s, i, ok := p.entry(va)
	return ok && s.hw[i]&pteAP0 != 0
}

// ClearModified clears the modified state of the page at va and maps it
// read-only so the next write is seen; it returns the previous state. A
// wired writable page stays modified (it must never fault).
func (p *Pmap) ClearModified(va uint32) bool {
	s, i, ok := p.entry(va)
	if !ok || p.busy {
		return false
	}
	was := s.sw[i]&swModified != 0
	if !was || s.sw[i]&swWired != 0 {
		return was
	}
	s.sw[i] &^= swModified
	p.setBits(s, i, va, pteAP2, 0)
	return true
}

// ClearReferenced clears the access flag of the page at va, so the next
// access takes an access-flag fault; it returns the previous state. A
// wired page stays referenced.
func (p *Pmap) ClearReferenced(va uint32) bool {
	s, i, ok := p.entry(va)
	if !ok || p.busy {
		return false
	}
	was := s.hw[i]&pteAP0 != 0
	if !was || s.sw[i]&swWired != 0 {
		return was
	}
	p.setBits(s, i, va, 0, pteAP0)
	return true
}

// setBits sets and clears descriptor bits of the mapping with head index
// i, then does the upkeep for a change that keeps the frame: clean, DSB,
// TLBIMVA, DSB, ISB.
func (p *Pmap) setBits(s *slot, i, va uint32, set, clr uint32) {
	e := s.hw[i]
	ne := e&^clr | set
	if ne == e {
		return
	}
	cnt := uint32(1)
	if e&3 == 1 {
		cnt = 16
		va &^= 0xffff
	} else {
		va &^= 0xfff
	}
	for k := i; k < i+cnt; k++ {
		s.hw[k] = ne
	}
	if cnt == 1 {
		p.syncChange(s.pa+i*4, va)
		return
	}
	m := p.mmu
	p.cleanRange(s.pa+i*4, cnt*4)
	m.DSB()
	m.InvalidateTLB(va)
	m.DSB()
	m.ISB()
}

// Harvested says what Reclaim found and did.
type Harvested uint8

const (
	HarvestMapped     Harvested = 1 << iota // a mapping was there
	HarvestModified                         // it was modified
	HarvestReferenced                       // it was referenced; the reference is cleared
	HarvestRemoved                          // it was removed
)

// Reclaim is the page-replacement clock's look at the mapping at va, in
// one table walk: it reports whether the mapping is modified and
// referenced, clears its reference (as ClearReferenced: a wired page
// stays referenced), and, if drop is set and the mapping was neither
// modified nor referenced nor wired, removes it (as Remove of its page).
// Nothing mapped at va: 0. It is IsModified, ClearReferenced and, for an
// idle clean page, Remove, with one walk instead of four.
//
// Reclaim needs no stack check of its own (go:nosplit): its frame is
// small and what it calls checks its own.
//
//go:nosplit
func (p *Pmap) Reclaim(va uint32, drop bool) Harvested {
	// A small page in a table that keeps other mappings, eviction's
	// case; any other goes through the general methods.
	if off := va - p.base; off < p.size && !p.busy {
		s := &p.slots[off>>20]
		i := va >> 12 & 0xff
		if t := s.hw; t != nil && t[i]&2 != 0 && s.n > 1 {
			e, sw := t[i], s.sw[i]
			modified := Harvested(sw & swModified) // swModified is HarvestModified
			if e&pteAP0 != 0 {
				if sw&swWired == 0 {
					t[i] = e &^ pteAP0
					p.syncChange(s.pa+i*4, va&^0xfff)
				}
				return HarvestMapped | HarvestReferenced | modified
			}
			if drop && sw&(swModified|swWired) == 0 {
				t[i] = 0
				s.sw[i] = 0
				s.n--
				p.syncReplace(s.pa+i*4, va&^0xfff)
				return HarvestMapped | HarvestRemoved
			}
			return HarvestMapped | modified
		}
	}
	return p.reclaim(va, drop)
}

// reclaim is Reclaim for every case.
func (p *Pmap) reclaim(va uint32, drop bool) Harvested {
	s, i, ok := p.entry(va)
	if !ok || p.busy {
		return 0
	}
	e, sw := s.hw[i], s.sw[i]
	h := HarvestMapped
	if sw&swModified != 0 {
		h |= HarvestModified
	}
	if e&pteAP0 != 0 {
		p.ClearReferenced(va)
		return h | HarvestReferenced
	}
	if drop && sw&(swModified|swWired) == 0 {
		start, end := va&^0xfff, va&^0xfff+4096
		if e&3 == 1 {
			start, end = va&^0xffff, va&^0xffff+64<<10
		}
		if p.Remove(start, end) == nil {
			h |= HarvestRemoved
		}
	}
	return h
}

// Reclaim's fast path turns the modified bit of the software state into
// HarvestModified by position; this fails to compile if either moves.
var _ = [1]struct{}{}[uint32(swModified)^uint32(HarvestModified)]

// SetWired changes the wiring of the mapping at va (Mach
// pmap_change_wiring). Wiring makes the page accessed and, if writable,
// read-write and modified.
func (p *Pmap) SetWired(va uint32, wired bool) error {
	if p.busy {
		return ErrBusy
	}
	s, i, ok := p.entry(va)
	if !ok {
		return ErrNotMapped
	}
	cnt := 1
	if s.hw[i]&3 == 1 {
		cnt = 16
	}
	was := s.sw[i]&swWired != 0
	if was == wired {
		return nil
	}
	if !wired {
		s.sw[i] &^= swWired
		p.wired -= cnt
		return nil
	}
	s.sw[i] |= swWired
	p.wired += cnt
	set := uint32(pteAP0)
	clr := uint32(0)
	if s.sw[i]&swWrite != 0 {
		s.sw[i] |= swModified
		clr = pteAP2
	}
	p.setBits(s, i, va, set, clr)
	return nil
}

// Upgrade resolves, if it can, a fault that only tracks use: an access
// flag fault (the page becomes referenced) or a write permission fault on
// a page whose protection allows write (it becomes modified; its access
// flag is set too). It returns what it did, or 0 when the fault is not
// such an upgrade and belongs to vm. It takes the fast path of the abort
// handler: a few loads, one descriptor write and its upkeep.
//
// Upgrade needs no stack check of its own (go:nosplit): its frame is
// small and what it calls checks its own.
//
//go:nosplit
func (p *Pmap) Upgrade(f *Fault) Upgraded {
	va := f.Addr
	off := va - p.base
	k := f.Kind
	if f.Level != 2 || (k != KindAccessFlag && k != KindPermission) || off >= p.size || p.busy {
		return 0
	}
	s := &p.slots[off>>20]
	t := s.hw
	if t == nil {
		return 0
	}
	i := va >> 12 & 0xff
	e := t[i]
	switch e & 3 {
	case 0:
		return 0
	case 1:
		i &^= 15 // a large page: its head entry
	}
	up := Upgraded(^e>>4) & UpgradedReferenced // AP[0] was clear
	// a cache maintenance operation by address reports WnR=1 but writes
	// nothing (B4.1.52): it does not make the page modified
	write := f.Access == Write && f.Status&fsrCM == 0 && e&pteAP2 != 0 && s.sw[i]&swWrite != 0
	if write {
		up |= UpgradedModified
	} else if k == KindPermission {
		// a permission fault we cannot lift (write to a read-only
		// mapping, execute from XN) is vm's to report
		return 0
	}
	if up == 0 {
		return 0
	}
	ne := e | pteAP0
	if write {
		ne &^= pteAP2
		s.sw[i] |= swModified
	}
	if e&2 != 0 {
		// a small page: one descriptor, written and synced here
		t[i&0xff] = ne // i < 256: no bounds check
		p.syncChange(s.pa+i*4, va&^0xfff)
		return up
	}
	p.busy = true
	p.setBits(s, i, va, ne&^e, e&^ne)
	p.busy = false
	return up
}

// Destroy removes every mapping, frees the L2 tables and restores the L1
// entries found at New. The Pmap must not be used afterwards.
func (p *Pmap) Destroy() {
	if p.destroyed {
		return
	}
	p.rangeOp(p.base, p.base+p.size, opRemove, 0)
	m := p.mmu
	for i := range p.slots {
		s := &p.slots[i]
		p.l1[p.first+uint32(i)] = s.saved
	}
	p.cleanRange(p.l1pa+p.first*4, uint32(len(p.slots))*4)
	m.DSB()
	m.InvalidateTLBAll()
	m.InvalidateBranchPredictor()
	m.DSB()
	m.ISB()
	p.destroyed = true
	p.size = 0
}

// CheckInvariants verifies the tables against the software state:
// the window's L1 entries are faults or point at this Pmap's tables with
// the configured domain; entry counts and the wired count agree;
// large pages are 16 identical aligned entries; software state is zero
// for invalid entries and for the 15 tail entries of a large page; an
// entry is read-write only if its mapping is writable and modified.
func (p *Pmap) CheckInvariants() error {
	wired := 0
	for si := range p.slots {
		s := &p.slots[si]
		k := p.first + uint32(si)
		l1 := p.l1[k]
		if s.hw == nil {
			if l1 != 0 {
				return fmt.Errorf("L1[%#x] = %#x, want fault", k, l1)
			}
			continue
		}
		if l1 != s.pa|p.tableDesc {
			return fmt.Errorf("L1[%#x] = %#x, want table %#x", k, l1, s.pa|p.tableDesc)
		}
		if p.mem.Table(s.pa) != s.hw {
			return fmt.Errorf("slot %d: table pointer does not match its address %#x", si, s.pa)
		}
		n := 0
		for i := uint32(0); i < 256; {
			e := s.hw[i]
			switch e & 3 {
			case 0:
				if s.sw[i] != 0 {
					return fmt.Errorf("L1[%#x] entry %d: sw state %#x on a fault entry", k, i, s.sw[i])
				}
				i++
				continue
			case 1:
				if i&15 != 0 {
					return fmt.Errorf("L1[%#x] entry %d: unaligned large page", k, i)
				}
				for j := i + 1; j < i+16; j++ {
					if s.hw[j] != e || s.sw[j] != 0 {
						return fmt.Errorf("L1[%#x] entry %d: large page entries differ", k, j)
					}
				}
			}
			cnt := uint32(1)
			if e&3 == 1 {
				cnt = 16
			}
			sw := s.sw[i]
			if e&pteAP2 == 0 && sw&(swWrite|swModified) != swWrite|swModified {
				return fmt.Errorf("L1[%#x] entry %d: writable without write+modified (sw %#x)", k, i, sw)
			}
			if sw&swWired != 0 {
				wired += int(cnt)
				if e&pteAP0 == 0 || (sw&swWrite != 0 && e&pteAP2 != 0) {
					return fmt.Errorf("L1[%#x] entry %d: wired page can fault", k, i)
				}
			}
			if e&(1<<(10)) != 0 {
				return fmt.Errorf("L1[%#x] entry %d: shareable bit set", k, i)
			}
			n += int(cnt)
			i += cnt
		}
		if n == 0 {
			return fmt.Errorf("L1[%#x]: empty table not freed", k)
		}
		if n != int(s.n) {
			return fmt.Errorf("L1[%#x]: %d valid entries, count says %d", k, n, s.n)
		}
	}
	if wired != p.wired {
		return fmt.Errorf("%d wired pages, the counter says %d", wired, p.wired)
	}
	return nil
}
