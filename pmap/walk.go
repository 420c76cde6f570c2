package pmap

// Walker is a software MMU: it translates an address through the tables
// in Mem as the hardware would at PL1 (short-descriptor format, TTBCR.N=0,
// TEX remap off, hardware access-flag management off, B3.5 and B3.7) and
// returns the physical address or exactly the fault the hardware raises:
// same FS code, level and access. Faults are prioritised as in B3.12.3:
// external abort on the level 1 walk, level 1 translation, then for a
// section access flag, domain, permission; for a page table the level 2
// walk, level 2 translation, access flag, domain, permission.
//
// Not modelled: alignment faults (they depend on the instruction, not on
// the tables), TLB contents (the walker sees the tables as they are, as
// the hardware does after the upkeep pmap performs), SCTLR.WXN/UWXN, and
// instruction fetches from Device memory with XN clear (UNPREDICTABLE).
type Walker struct {
	Mem PhysMem
	// DACR is the Domain Access Control Register: two bits per domain,
	// 0b00 no access, 0b01 client, 0b11 manager (0b10 reserved, treated
	// as no access). TamaGo writes 1: domain 0 client.
	DACR uint32
	// AFE is SCTLR.AFE: AP[0] is the access flag. tamach sets it.
	AFE bool
}

// Translation is a successful walk.
type Translation struct {
	PA    uint32
	Attr  MemAttr
	Level uint8 // 1 for a section or supersection, 2 for a page
}

// Walk translates va for the access acc.
func (w *Walker) Walk(va uint32, acc Access) (Translation, Fault, bool) {
	_, l1 := w.Mem.L1()
	d1 := l1[va>>20]
	switch d1 & 3 {
	case 0:
		return Translation{}, makeFault(va, acc, FSTranslationSection), false
	case 1:
		return w.walkL2(va, acc, d1)
	}
	d := DecodeL1(d1)
	if d.Kind == L1Supersection && d.ExtBase != 0 {
		// a physical address above 4 GiB: nothing is there on these
		// SoCs; the access would raise an external abort.
		return Translation{}, makeFault(va, acc, FSExternal), false
	}
	fs := w.check(acc, d.AP, d.Domain, d.XN, d.PXN, FSAccessFlagSection, FSDomainSection, FSPermissionSection)
	if fs != 0 {
		return Translation{}, makeFault(va, acc, fs), false
	}
	pa := d.Base | va&0xfffff
	if d.Kind == L1Supersection {
		pa = d.Base | va&0xffffff
	}
	return Translation{PA: pa, Attr: d.Attr, Level: 1}, Fault{}, true
}

func (w *Walker) walkL2(va uint32, acc Access, d1 uint32) (Translation, Fault, bool) {
	t := w.Mem.Table(d1 &^ 0x3ff)
	if t == nil {
		return Translation{}, makeFault(va, acc, FSExternalWalkL2), false
	}
	e := t[va>>12&0xff]
	if e&3 == 0 {
		return Translation{}, makeFault(va, acc, FSTranslationPage), false
	}
	d := DecodeL2(e)
	dom := uint8(d1 >> 5 & 0xf)
	pxn := d1>>2&1 != 0
	fs := w.check(acc, d.AP, dom, d.XN, pxn, FSAccessFlagPage, FSDomainPage, FSPermissionPage)
	if fs != 0 {
		return Translation{}, makeFault(va, acc, fs), false
	}
	pa := d.Base | va&0xfff
	if d.Kind == L2Large {
		pa = d.Base | va&0xffff
	}
	return Translation{PA: pa, Attr: d.Attr, Level: 2}, Fault{}, true
}

// check returns the FS code of the first fault among access flag, domain
// and permission, or 0.
func (w *Walker) check(acc Access, ap AP, dom uint8, xn, pxn bool, fsAF, fsDom, fsPerm uint32) uint32 {
	if w.AFE && !ap.AccessFlag() {
		return fsAF
	}
	switch w.DACR >> (2 * dom) & 3 {
	case 0b00, 0b10:
		return fsDom
	case 0b11:
		return 0 // manager: no permission checks
	}
	r, wr := ap.PL1Access(w.AFE)
	switch acc {
	case Read:
		if !r {
			return fsPerm
		}
	case Write:
		if !wr {
			return fsPerm
		}
	case Execute:
		if !r || xn || pxn {
			return fsPerm
		}
	}
	return 0
}
