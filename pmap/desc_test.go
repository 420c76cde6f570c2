package pmap

import (
	"testing"
)

// Memory types of Table B3-10 (TEX remap off): TEX, C, B.
func TestMemTypeEncodings(t *testing.T) {
	cases := []struct {
		mt      MemType
		tex     uint32
		c, b    uint32
		devLike bool
	}{
		{MemStronglyOrdered, 0b000, 0, 0, true},
		{MemDevice, 0b000, 0, 1, true},
		{MemNormal, 0b000, 1, 1, false},
		{MemNormalWriteAlloc, 0b001, 1, 1, false},
		{MemNormalWriteThrough, 0b000, 1, 0, false},
		{MemNormalUncached, 0b001, 0, 0, false},
	}
	for _, c := range cases {
		a, ok := c.mt.Attr()
		if !ok || a.TEX() != c.tex || a.C() != c.c || a.B() != c.b {
			t.Errorf("%v: attr %#x ok %v, want TEX %03b C %d B %d", c.mt, a, ok, c.tex, c.c, c.b)
		}
		if a.Type() != c.mt {
			t.Errorf("%v: Type() of its attr = %v", c.mt, a.Type())
		}
		if a.DeviceLike() != c.devLike {
			t.Errorf("%v: DeviceLike = %v", c.mt, a.DeviceLike())
		}
	}
	if _, ok := MemOther.Attr(); ok {
		t.Error("MemOther has an encoding")
	}
	if makeAttr(0b010, 0, 0).Type() != MemOther || !makeAttr(0b010, 0, 0).DeviceLike() {
		t.Error("TEX=010 C=0 B=0 is non-shareable Device: MemOther, device-like")
	}
}

// Access permissions at PL1: Table B3-9 (AFE=1) and Table B3-8 (AFE=0).
func TestAPPermissions(t *testing.T) {
	cases := []struct {
		ap          AP
		afe         bool
		read, write bool
		accessFlag  bool
	}{
		{0b000, true, true, true, false},
		{0b001, true, true, true, true},
		{0b010, true, true, true, false},
		{0b011, true, true, true, true},
		{0b100, true, true, false, false},
		{0b101, true, true, false, true},
		{0b110, true, true, false, false},
		{0b111, true, true, false, true},
		{0b000, false, false, false, false},
		{0b001, false, true, true, true},
		{0b010, false, true, true, false},
		{0b011, false, true, true, true},
		{0b100, false, false, false, false},
		{0b101, false, true, false, true},
		{0b110, false, true, false, false},
		{0b111, false, true, false, true},
	}
	for _, c := range cases {
		r, w := c.ap.PL1Access(c.afe)
		if r != c.read || w != c.write || c.ap.AccessFlag() != c.accessFlag {
			t.Errorf("AP %03b AFE %v: read %v write %v af %v, want %v %v %v", c.ap, c.afe, r, w, c.ap.AccessFlag(), c.read, c.write, c.accessFlag)
		}
	}
}

// One hand-checked word per descriptor kind (bit positions from Figures
// B3-4 and B3-5), decoded and re-encoded.
func TestL1DescriptorKinds(t *testing.T) {
	cases := []struct {
		name string
		w    uint32
		d    L1Desc
	}{
		{"fault", 0, L1Desc{Kind: L1Fault}},
		{"fault ignored bits", 0xfffffffc, L1Desc{Kind: L1Fault, Ignored: 0x3fffffff}},
		{"table", 0x9ff00000 | 3<<5 | 1, L1Desc{Kind: L1Table, Base: 0x9ff00000, Domain: 3}},
		{"table pxn ns", 0x80000c00 | 1<<3 | 1<<2 | 1, L1Desc{Kind: L1Table, Base: 0x80000c00, PXN: true, NS: true}},
		// TamaGo's MemoryRegion: AP=0b001, C, B, section
		{"tamago memory", 0x80000000 | 1<<10 | 1<<3 | 1<<2 | 2, L1Desc{Kind: L1Section, Base: 0x80000000, AP: 0b001, Attr: makeAttr(0, 1, 1)}},
		// TamaGo's DeviceRegion with XN
		{"tamago device", 0x02000000 | 1<<10 | 1<<4 | 2, L1Desc{Kind: L1Section, Base: 0x02000000, AP: 0b001, XN: true}},
		{"section all", 0xfff00000 | 1<<19 | 1<<17 | 1<<16 | 1<<15 | 0b101<<12 | 0b11<<10 | 1<<9 | 0xf<<5 | 1<<4 | 1<<3 | 1<<2 | 3,
			L1Desc{Kind: L1Section, Base: 0xfff00000, NS: true, NG: true, S: true, AP: 0b111, Attr: makeAttr(0b101, 1, 1), IMP: true, Domain: 15, XN: true, PXN: true}},
		{"supersection", 0x81000000 | 0x5<<20 | 1<<18 | 0xa<<5 | 1<<10 | 2,
			L1Desc{Kind: L1Supersection, Base: 0x81000000, ExtBase: 0xa5, AP: 0b001}},
	}
	for _, c := range cases {
		if got := DecodeL1(c.w); got != c.d {
			t.Errorf("%s: DecodeL1(%#x) = %+v, want %+v", c.name, c.w, got, c.d)
		}
		w, err := c.d.Encode()
		if err != nil || w != c.w {
			t.Errorf("%s: Encode = %#x, %v, want %#x", c.name, w, err, c.w)
		}
	}
}

func TestL2DescriptorKinds(t *testing.T) {
	cases := []struct {
		name string
		w    uint32
		d    L2Desc
	}{
		{"fault", 0, L2Desc{Kind: L2Fault}},
		{"fault ignored", 0x1234, L2Desc{Kind: L2Fault, Ignored: 0x1234 >> 2}},
		// the probe's small page: B, C, AP[0]
		{"small probe", 0x90000000 | 0x2 | 0x4 | 0x8 | 1<<4, L2Desc{Kind: L2Small, Base: 0x90000000, AP: 0b001, Attr: makeAttr(0, 1, 1)}},
		{"small xn ro ng", 0x90001000 | 1<<11 | 1<<9 | 0b001<<6 | 1<<4 | 1<<3 | 1<<2 | 3,
			L2Desc{Kind: L2Small, Base: 0x90001000, NG: true, AP: 0b101, Attr: makeAttr(1, 1, 1), XN: true}},
		{"small shareable unpriv", 0x90002000 | 1<<10 | 0b10<<4 | 2, L2Desc{Kind: L2Small, Base: 0x90002000, S: true, AP: 0b010}},
		{"large", 0x90010000 | 1<<15 | 0b001<<12 | 1<<11 | 1<<9 | 1<<4 | 1<<3 | 1<<2 | 1,
			L2Desc{Kind: L2Large, Base: 0x90010000, XN: true, Attr: makeAttr(1, 1, 1), NG: true, AP: 0b101}},
		{"large sbz", 0x90020000 | 0b111<<6 | 1<<10 | 1, L2Desc{Kind: L2Large, Base: 0x90020000, SBZ: 7, S: true}},
	}
	for _, c := range cases {
		if got := DecodeL2(c.w); got != c.d {
			t.Errorf("%s: DecodeL2(%#x) = %+v, want %+v", c.name, c.w, got, c.d)
		}
		w, err := c.d.Encode()
		if err != nil || w != c.w {
			t.Errorf("%s: Encode = %#x, %v, want %#x", c.name, w, err, c.w)
		}
	}
}

// Every memory type, permission, XN and nG for both page kinds: the fast
// encoders used by Pmap agree with Encode and decode back.
func TestPageDescriptorsEveryPermission(t *testing.T) {
	for mt := MemStronglyOrdered; mt < numMemTypes; mt++ {
		attr, _ := mt.Attr()
		for ap := AP(0); ap < 8; ap++ {
			for f := 0; f < 4; f++ {
				xn, ng := f&1 != 0, f&2 != 0
				ws := smallPTE(0x9abcd000, attr, ap, xn, ng)
				d := DecodeL2(ws)
				want := L2Desc{Kind: L2Small, Base: 0x9abcd000, Attr: attr, AP: ap, XN: xn, NG: ng}
				if d != want {
					t.Fatalf("small %v AP %03b xn %v ng %v: %+v", mt, ap, xn, ng, d)
				}
				if w, err := want.Encode(); err != nil || w != ws {
					t.Fatalf("small Encode %#x %v, fast %#x", w, err, ws)
				}
				wl := largePTE(0x9abc0000, attr, ap, xn, ng)
				want = L2Desc{Kind: L2Large, Base: 0x9abc0000, Attr: attr, AP: ap, XN: xn, NG: ng}
				if d := DecodeL2(wl); d != want {
					t.Fatalf("large %v AP %03b: %+v", mt, ap, d)
				}
				if w, err := want.Encode(); err != nil || w != wl {
					t.Fatalf("large Encode %#x %v, fast %#x", w, err, wl)
				}
			}
		}
	}
}

func TestEncodeRejectsBadFields(t *testing.T) {
	bad1 := []L1Desc{
		{Kind: L1Table, Base: 0x100},
		{Kind: L1Section, Base: 0x80080000},
		{Kind: L1Supersection, Base: 0x80800000},
		{Kind: L1Supersection, Base: 0x81000000, Domain: 1},
		{Kind: L1Section, Domain: 16},
		{Kind: L1Section, AP: 8},
		{Kind: L1Section, Attr: 32},
		{Kind: L1Fault, Ignored: 1 << 30},
		{Kind: 9},
	}
	for _, d := range bad1 {
		if _, err := d.Encode(); err == nil {
			t.Errorf("%+v encoded", d)
		}
	}
	bad2 := []L2Desc{
		{Kind: L2Small, Base: 0x800},
		{Kind: L2Small, SBZ: 1},
		{Kind: L2Large, Base: 0x8000},
		{Kind: L2Large, SBZ: 8},
		{Kind: L2Small, AP: 8},
		{Kind: L2Fault, Ignored: 1 << 30},
		{Kind: 7},
	}
	for _, d := range bad2 {
		if _, err := d.Encode(); err == nil {
			t.Errorf("%+v encoded", d)
		}
	}
}

func FuzzDecodeL1(f *testing.F) {
	for _, w := range []uint32{0, 1, 2, 3, 0x80000c0e, 0x81540402, 0xffffffff, 0x9ff00061} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, w uint32) {
		d := DecodeL1(w)
		got, err := d.Encode()
		if err != nil || got != w {
			t.Fatalf("DecodeL1(%#x) = %+v encodes to %#x, %v", w, d, got, err)
		}
		if d.Kind == L1Section && d.Base&0xfffff != 0 || d.Kind == L1Table && d.Base&0x3ff != 0 {
			t.Fatalf("unaligned base %+v", d)
		}
	})
}

func FuzzDecodeL2(f *testing.F) {
	for _, w := range []uint32{0, 1, 2, 3, 0x9000001e, 0x9001b235, 0xffffffff} {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, w uint32) {
		d := DecodeL2(w)
		got, err := d.Encode()
		if err != nil || got != w {
			t.Fatalf("DecodeL2(%#x) = %+v encodes to %#x, %v", w, d, got, err)
		}
	})
}

// Encode then decode gives back the descriptor, for any descriptor that
// encodes.
func FuzzEncodeDecodeRoundTrip(f *testing.F) {
	f.Add(uint8(2), uint32(0x90000000), uint8(3), uint8(5), uint8(0), uint16(0))
	f.Add(uint8(1), uint32(0x9ff00c00), uint8(0), uint8(1), uint8(2), uint16(0x1ff))
	f.Fuzz(func(t *testing.T, kind uint8, base uint32, attr, ap, dom uint8, flags uint16) {
		fl := func(i uint) bool { return flags>>i&1 != 0 }
		d1 := L1Desc{Kind: L1Kind(kind % 5), Base: base, Domain: dom, Attr: MemAttr(attr), AP: AP(ap),
			XN: fl(0), PXN: fl(1), NS: fl(2), S: fl(3), NG: fl(4), IMP: fl(5), SBZ: fl(6)}
		switch d1.Kind {
		case L1Fault:
			d1 = L1Desc{Kind: L1Fault, Ignored: base}
		case L1Table:
			d1.Attr, d1.AP, d1.XN, d1.S, d1.NG, d1.ExtBase = 0, 0, false, false, false, 0
		case L1Section:
			d1.SBZ = false
		case L1Supersection:
			d1.SBZ, d1.ExtBase, d1.Domain = false, uint8(flags>>8), 0
		}
		if w, err := d1.Encode(); err == nil {
			if got := DecodeL1(w); got != d1 {
				t.Fatalf("L1 %+v -> %#x -> %+v", d1, w, got)
			}
		}
		d2 := L2Desc{Kind: L2Kind(kind % 4), Base: base, Attr: MemAttr(attr), AP: AP(ap),
			XN: fl(0), S: fl(3), NG: fl(4), SBZ: uint8(flags >> 8)}
		switch d2.Kind {
		case L2Fault:
			d2 = L2Desc{Kind: L2Fault, Ignored: base}
		case L2Small:
			d2.SBZ = 0
		}
		if w, err := d2.Encode(); err == nil {
			if got := DecodeL2(w); got != d2 {
				t.Fatalf("L2 %+v -> %#x -> %+v", d2, w, got)
			}
		}
	})
}
