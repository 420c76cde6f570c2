package pmap

import "errors"

// Short-descriptor translation table format, ARM Architecture Reference
// Manual ARMv7-A and ARMv7-R edition (ARM DDI 0406C), B3.5.1: first-level
// descriptors (Figure B3-4) and second-level descriptors (Figure B3-5).
// Every bit of a descriptor word is kept by Decode, so Encode(Decode(w))
// returns w for any w; Encode checks that fields fit.

// L1Kind is the kind of a first-level descriptor, from bits[1:0] and bit 18.
type L1Kind uint8

const (
	L1Fault        L1Kind = iota // bits[1:0] = 0b00
	L1Table                      // bits[1:0] = 0b01: pointer to a 1 KiB L2 table
	L1Section                    // bits[1] = 1, bit 18 = 0: 1 MiB
	L1Supersection               // bits[1] = 1, bit 18 = 1: 16 MiB
)

func (k L1Kind) String() string {
	switch k {
	case L1Fault:
		return "fault"
	case L1Table:
		return "table"
	case L1Section:
		return "section"
	case L1Supersection:
		return "supersection"
	}
	return "L1Kind(?)"
}

// L2Kind is the kind of a second-level descriptor, from bits[1:0].
type L2Kind uint8

const (
	L2Fault L2Kind = iota // bits[1:0] = 0b00
	L2Large               // bits[1:0] = 0b01: 64 KiB large page (16 identical entries)
	L2Small               // bit[1] = 1: 4 KiB small page, bit 0 is XN
)

func (k L2Kind) String() string {
	switch k {
	case L2Fault:
		return "fault"
	case L2Large:
		return "large"
	case L2Small:
		return "small"
	}
	return "L2Kind(?)"
}

// AP is the access-permission field AP[2:0] as a 3-bit number
// (AP[2] is bit 2). With SCTLR.AFE=1 (B3.7.1, the simplified access
// permissions model, Table B3-9) AP[0] is the access flag, AP[1] grants
// unprivileged (PL0) access and AP[2] makes the region read-only. tamach
// runs at PL1 and sets AFE, so it uses AP[1]=0.
type AP uint8

const (
	APAccessFlag   AP = 1 << 0 // AP[0]: access flag when SCTLR.AFE=1
	APUnprivileged AP = 1 << 1 // AP[1]: PL0 access
	APReadOnly     AP = 1 << 2 // AP[2]: read-only (at every level)
)

// AccessFlag reports AP[0], the access flag under SCTLR.AFE=1.
func (a AP) AccessFlag() bool { return a&APAccessFlag != 0 }

// ReadOnly reports AP[2].
func (a AP) ReadOnly() bool { return a&APReadOnly != 0 }

// PL1Access reports what a PL1 access may do under the given model:
// AFE=1 uses Table B3-9 (AP[0] ignored for permission), AFE=0 uses the
// full model of Table B3-8 (AP=0b000 no access, 0b100 reserved and
// treated here as no access).
func (a AP) PL1Access(afe bool) (read, write bool) {
	if afe {
		return true, a&APReadOnly == 0
	}
	switch a & 7 {
	case 0b000, 0b100:
		return false, false
	case 0b001, 0b010, 0b011:
		return true, true
	}
	return true, false // 0b101, 0b110, 0b111
}

// MemAttr is the TEX[2:0]:C:B field of a descriptor, TEX in bits[4:2],
// C in bit 1, B in bit 0. With SCTLR.TRE=0 (TEX remap off) it selects the
// memory type as in Table B3-10.
type MemAttr uint8

// TEX returns TEX[2:0].
func (m MemAttr) TEX() uint32 { return uint32(m>>2) & 7 }

// C returns the C bit.
func (m MemAttr) C() uint32 { return uint32(m>>1) & 1 }

// B returns the B bit.
func (m MemAttr) B() uint32 { return uint32(m) & 1 }

func makeAttr(tex, c, b uint32) MemAttr { return MemAttr(tex&7<<2 | c&1<<1 | b&1) }

// MemType is a memory type tamach maps with (Table B3-10, TEX remap off).
type MemType uint8

const (
	// MemOther is any TEX/C/B encoding not listed below (decode only).
	MemOther MemType = iota
	// MemStronglyOrdered: TEX=000 C=0 B=0.
	MemStronglyOrdered
	// MemDevice: shareable Device, TEX=000 C=0 B=1.
	MemDevice
	// MemNormal: Normal, inner and outer write-back, no write-allocate,
	// TEX=000 C=1 B=1: the attributes of TamaGo's flat map of Go RAM, so
	// a frame seen through both mappings has matching attributes.
	MemNormal
	// MemNormalWriteAlloc: Normal write-back write-allocate, TEX=001 C=1 B=1.
	MemNormalWriteAlloc
	// MemNormalWriteThrough: Normal write-through, no write-allocate,
	// TEX=000 C=1 B=0.
	MemNormalWriteThrough
	// MemNormalUncached: Normal non-cacheable, TEX=001 C=0 B=0.
	MemNormalUncached
	numMemTypes
)

var memTypeAttr = [numMemTypes]MemAttr{
	MemOther:              0xff,
	MemStronglyOrdered:    makeAttr(0, 0, 0),
	MemDevice:             makeAttr(0, 0, 1),
	MemNormal:             makeAttr(0, 1, 1),
	MemNormalWriteAlloc:   makeAttr(1, 1, 1),
	MemNormalWriteThrough: makeAttr(0, 1, 0),
	MemNormalUncached:     makeAttr(1, 0, 0),
}

// Attr returns the TEX/C/B encoding of t, and false for MemOther or an
// unknown type.
func (t MemType) Attr() (MemAttr, bool) {
	if t == MemOther || t >= numMemTypes {
		return 0, false
	}
	return memTypeAttr[t], true
}

// Type classifies m; encodings tamach does not use give MemOther.
func (m MemAttr) Type() MemType {
	for t := MemStronglyOrdered; t < numMemTypes; t++ {
		if memTypeAttr[t] == m {
			return t
		}
	}
	return MemOther
}

// DeviceLike reports whether m is Device or Strongly-ordered memory
// (TEX=000 C=0, or TEX=010 C=0 B=0 for non-shareable Device).
func (m MemAttr) DeviceLike() bool {
	return m&^1 == 0 || m == makeAttr(2, 0, 0)
}

func (t MemType) String() string {
	switch t {
	case MemStronglyOrdered:
		return "strongly-ordered"
	case MemDevice:
		return "device"
	case MemNormal:
		return "normal-wb"
	case MemNormalWriteAlloc:
		return "normal-wbwa"
	case MemNormalWriteThrough:
		return "normal-wt"
	case MemNormalUncached:
		return "normal-nc"
	}
	return "other"
}

// L1Desc is a decoded first-level descriptor. Fields not used by Kind are
// zero.
type L1Desc struct {
	Kind L1Kind
	// Base is the physical address: bits[31:10] of a table, [31:20] of a
	// section, [31:24] of a supersection.
	Base uint32
	// ExtBase is PA[39:32] of a supersection (bits[8:5] are PA[39:36],
	// bits[23:20] PA[35:32]).
	ExtBase uint8
	Domain  uint8 // bits[8:5] of a table or section
	Attr    MemAttr
	AP      AP
	XN      bool   // section bit 4
	PXN     bool   // section bit 0, table bit 2
	NS      bool   // section bit 19, table bit 3
	S       bool   // section bit 16
	NG      bool   // section bit 17
	IMP     bool   // bit 9
	SBZ     bool   // table bit 4
	Ignored uint32 // fault: bits[31:2], kept for an exact round trip
}

// Errors of descriptor encoding.
var (
	ErrDescBase  = errors.New("pmap: descriptor base not aligned to its size")
	ErrDescField = errors.New("pmap: descriptor field out of range")
)

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// DecodeL1 decodes any first-level descriptor word.
func DecodeL1(w uint32) L1Desc {
	switch w & 3 {
	case 0:
		return L1Desc{Kind: L1Fault, Ignored: w >> 2}
	case 1:
		return L1Desc{
			Kind:   L1Table,
			Base:   w &^ 0x3ff,
			PXN:    w>>2&1 != 0,
			NS:     w>>3&1 != 0,
			SBZ:    w>>4&1 != 0,
			Domain: uint8(w >> 5 & 0xf),
			IMP:    w>>9&1 != 0,
		}
	}
	d := L1Desc{
		Kind: L1Section,
		PXN:  w&1 != 0,
		Attr: makeAttr(w>>12, w>>3, w>>2),
		XN:   w>>4&1 != 0,
		IMP:  w>>9&1 != 0,
		AP:   AP(w>>10&3 | w>>15&1<<2),
		S:    w>>16&1 != 0,
		NG:   w>>17&1 != 0,
		NS:   w>>19&1 != 0,
	}
	if w>>18&1 != 0 {
		d.Kind = L1Supersection
		d.Base = w &^ 0xffffff
		d.ExtBase = uint8(w>>20&0xf | w>>5&0xf<<4)
	} else {
		d.Kind = L1Section
		d.Base = w &^ 0xfffff
		d.Domain = uint8(w >> 5 & 0xf)
	}
	return d
}

// Encode returns the descriptor word for d.
func (d L1Desc) Encode() (uint32, error) {
	if d.Domain > 15 || d.AP > 7 || d.Attr > 31 {
		return 0, ErrDescField
	}
	switch d.Kind {
	case L1Fault:
		if d.Ignored>>30 != 0 {
			return 0, ErrDescField
		}
		return d.Ignored << 2, nil
	case L1Table:
		if d.Base&0x3ff != 0 {
			return 0, ErrDescBase
		}
		return d.Base | b2u(d.IMP)<<9 | uint32(d.Domain)<<5 | b2u(d.SBZ)<<4 |
			b2u(d.NS)<<3 | b2u(d.PXN)<<2 | 1, nil
	case L1Section, L1Supersection:
		w := b2u(d.NS)<<19 | b2u(d.NG)<<17 | b2u(d.S)<<16 |
			uint32(d.AP>>2&1)<<15 | d.Attr.TEX()<<12 | uint32(d.AP&3)<<10 |
			b2u(d.IMP)<<9 | b2u(d.XN)<<4 | d.Attr.C()<<3 | d.Attr.B()<<2 |
			1<<1 | b2u(d.PXN)
		if d.Kind == L1Section {
			if d.Base&0xfffff != 0 {
				return 0, ErrDescBase
			}
			return w | d.Base | uint32(d.Domain)<<5, nil
		}
		if d.Base&0xffffff != 0 {
			return 0, ErrDescBase
		}
		if d.Domain != 0 {
			return 0, ErrDescField
		}
		return w | d.Base | 1<<18 | uint32(d.ExtBase&0xf)<<20 |
			uint32(d.ExtBase>>4)<<5, nil
	}
	return 0, ErrDescField
}

// L2Desc is a decoded second-level descriptor.
type L2Desc struct {
	Kind L2Kind
	// Base is bits[31:16] of a large page, [31:12] of a small page.
	Base    uint32
	Attr    MemAttr
	AP      AP
	XN      bool   // large bit 15, small bit 0
	S       bool   // bit 10
	NG      bool   // bit 11
	SBZ     uint8  // large page bits[8:6]
	Ignored uint32 // fault: bits[31:2]
}

// DecodeL2 decodes any second-level descriptor word.
func DecodeL2(w uint32) L2Desc {
	switch w & 3 {
	case 0:
		return L2Desc{Kind: L2Fault, Ignored: w >> 2}
	case 1:
		return L2Desc{
			Kind: L2Large,
			Base: w &^ 0xffff,
			Attr: makeAttr(w>>12, w>>3, w>>2),
			AP:   AP(w>>4&3 | w>>9&1<<2),
			XN:   w>>15&1 != 0,
			S:    w>>10&1 != 0,
			NG:   w>>11&1 != 0,
			SBZ:  uint8(w >> 6 & 7),
		}
	}
	return L2Desc{
		Kind: L2Small,
		Base: w &^ 0xfff,
		Attr: makeAttr(w>>6, w>>3, w>>2),
		AP:   AP(w>>4&3 | w>>9&1<<2),
		XN:   w&1 != 0,
		S:    w>>10&1 != 0,
		NG:   w>>11&1 != 0,
	}
}

// Encode returns the descriptor word for d.
func (d L2Desc) Encode() (uint32, error) {
	if d.AP > 7 || d.Attr > 31 || d.SBZ > 7 {
		return 0, ErrDescField
	}
	switch d.Kind {
	case L2Fault:
		if d.Ignored>>30 != 0 {
			return 0, ErrDescField
		}
		return d.Ignored << 2, nil
	case L2Large:
		if d.Base&0xffff != 0 {
			return 0, ErrDescBase
		}
		return d.Base | b2u(d.XN)<<15 | d.Attr.TEX()<<12 | b2u(d.NG)<<11 |
			b2u(d.S)<<10 | uint32(d.AP>>2&1)<<9 | uint32(d.SBZ)<<6 |
			uint32(d.AP&3)<<4 | d.Attr.C()<<3 | d.Attr.B()<<2 | 1, nil
	case L2Small:
		if d.SBZ != 0 {
			return 0, ErrDescField // a small page has no SBZ bits
		}
		if d.Base&0xfff != 0 {
			return 0, ErrDescBase
		}
		return d.Base | b2u(d.NG)<<11 | b2u(d.S)<<10 | uint32(d.AP>>2&1)<<9 |
			d.Attr.TEX()<<6 | uint32(d.AP&3)<<4 | d.Attr.C()<<3 |
			d.Attr.B()<<2 | 1<<1 | b2u(d.XN), nil
	}
	return 0, ErrDescField
}

// Fast encoders used on the hot paths; they assume aligned bases and
// in-range fields (the callers have checked them).

func smallPTE(pa uint32, attr MemAttr, ap AP, xn, ng bool) uint32 {
	return pa | b2u(ng)<<11 | uint32(ap>>2&1)<<9 | attr.TEX()<<6 |
		uint32(ap&3)<<4 | attr.C()<<3 | attr.B()<<2 | 1<<1 | b2u(xn)
}

func largePTE(pa uint32, attr MemAttr, ap AP, xn, ng bool) uint32 {
	return pa | b2u(xn)<<15 | attr.TEX()<<12 | b2u(ng)<<11 |
		uint32(ap>>2&1)<<9 | uint32(ap&3)<<4 | attr.C()<<3 | attr.B()<<2 | 1
}

// Bit positions shared by small and large page descriptors.
const (
	pteAP0 = 1 << 4 // AP[0], the access flag
	pteAP2 = 1 << 9 // AP[2], read-only
	pteXNs = 1 << 0 // XN of a small page
	pteXNl = 1 << 15
)
