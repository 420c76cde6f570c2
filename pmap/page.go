package pmap

// PageAttr is what Enter needs besides the addresses to map one 4 KiB
// page, checked and encoded once by NewPageAttr: the protection, the
// memory type and the Enter flags. A fault handler makes it when it sets
// up a map entry (or keeps one per protection it uses) and enters pages
// with EnterPage, which then checks only the addresses: fewer arguments
// and fewer tests on the path of every fault.
//
// Encoding: bits [1:0] the software state (write, modified); [6:4]
// prot; [10:8] mt; [14:12] flags; bit 15 set when EnterPage's fast path
// may take it (made by NewPageAttr, not wired); [31:20] the small-page
// descriptor bits other than the base and nG (kind, XN, B, C, AP, TEX),
// as Enter would write them for a page not mapped before. The zero
// PageAttr is invalid: EnterPage refuses it with ErrProt. Only
// NewPageAttr makes others.
type PageAttr struct{ v uint32 }

const (
	pageAttrProt  = 4
	pageAttrMem   = 8
	pageAttrFlags = 12
	pageAttrFast  = 1 << 15
	pageAttrDesc  = 20
)

// NewPageAttr checks prot and mt as Enter does (ErrProt, ErrMemType) and
// encodes them with flags.
func NewPageAttr(prot Prot, mt MemType, flags EnterFlags) (PageAttr, error) {
	if prot-1 >= ProtAll { // ProtNone wraps around
		return PageAttr{}, ErrProt
	}
	if mt-1 >= numMemTypes-1 { // MemOther wraps around
		return PageAttr{}, ErrMemType
	}
	if prot&ProtExec != 0 && (mt == MemDevice || mt == MemStronglyOrdered) {
		return PageAttr{}, ErrProt // speculative fetches must never reach devices
	}
	flags &= Wired | Accessed | Written
	d := pteAttrBits[Page4K][mt] | pteAP2
	if prot&ProtExec == 0 {
		d |= pteXNs
	}
	sw := uint32(0)
	if prot&ProtWrite != 0 {
		sw = swWrite
	}
	if flags&Accessed != 0 {
		d |= pteAP0
	}
	if flags&Written != 0 && sw != 0 {
		d &^= pteAP2
		sw |= swModified
	}
	a := d<<pageAttrDesc | sw | uint32(prot)<<pageAttrProt | uint32(mt)<<pageAttrMem | uint32(flags)<<pageAttrFlags
	if flags&Wired == 0 {
		a |= pageAttrFast
	}
	return PageAttr{a}, nil
}

// Prot returns the protection a was made with.
func (a PageAttr) Prot() Prot { return Prot(a.v >> pageAttrProt & 7) }

// MemType returns the memory type a was made with.
func (a PageAttr) MemType() MemType { return MemType(a.v >> pageAttrMem & 7) }

// Flags returns the Enter flags a was made with.
func (a PageAttr) Flags() EnterFlags { return EnterFlags(a.v >> pageAttrFlags & 7) }

// EnterPage is Enter(va, pa, a.Prot(), a.MemType(), Page4K, a.Flags()):
// the same result, the same errors, the tables unchanged on error. Its
// fast path is one page, not wired, into an existing table where nothing
// is mapped, pa in the first physical range of the Config; everything
// else goes through Enter's general path. It needs no stack check of its
// own (go:nosplit): its frame is small and what it calls checks its own.
//
//go:nosplit
func (p *Pmap) EnterPage(va, pa uint32, a PageAttr) error {
	mib := (va - p.base) >> 20 // < len(p.slots): va is in the window
	if (va|pa)&0xfff == 0 && a.v&pageAttrFast != 0 && mib < uint32(len(p.slots)) &&
		pa-p.physLo <= p.physSpan && !p.busy {
		s := &p.slots[mib]
		idx := va >> 12 & 0xff
		if t := s.hw; t != nil && t[idx] == 0 {
			t[idx] = a.v>>pageAttrDesc | pa | p.ngBits
			s.sw[idx] = uint8(a.v) & (swWrite | swModified)
			s.n++
			p.syncNew(s.pa+idx*4, va)
			return nil
		}
	}
	return p.enter(va, pa, a.Prot(), a.MemType(), Page4K, a.Flags())
}
