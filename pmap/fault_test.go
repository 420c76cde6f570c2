package pmap

import "testing"

// Every FS code of Table B3-23, in DFSR and IFSR.
func TestDecodeFaultStatusCodes(t *testing.T) {
	cases := []struct {
		fs    uint32
		kind  FaultKind
		level uint8
		ifsr  bool // valid in IFSR too
	}{
		{FSAlignment, KindAlignment, 0, false},
		{FSDebug, KindOther, 0, true},
		{FSAccessFlagSection, KindAccessFlag, 1, true},
		{FSICacheMaintenance, KindCacheMaintenance, 0, false},
		{FSTranslationSection, KindTranslation, 1, true},
		{FSAccessFlagPage, KindAccessFlag, 2, true},
		{FSTranslationPage, KindTranslation, 2, true},
		{FSExternal, KindExternal, 0, true},
		{FSDomainSection, KindDomain, 1, true},
		{FSDomainPage, KindDomain, 2, true},
		{FSExternalWalkL1, KindExternal, 1, true},
		{FSPermissionSection, KindPermission, 1, true},
		{FSExternalWalkL2, KindExternal, 2, true},
		{FSPermissionPage, KindPermission, 2, true},
		{FSLockdown, KindOther, 0, true},
		{FSAsyncExternal, KindExternal, 0, false},
		{FSAsyncParity, KindExternal, 0, false},
		{FSParity, KindExternal, 0, true},
		{FSCoprocessor, KindOther, 0, true},
		{FSParityWalkL1, KindExternal, 1, true},
		{FSParityWalkL2, KindExternal, 2, true},
	}
	for _, c := range cases {
		st := c.fs&0xf | c.fs>>4<<10
		for _, wnr := range []uint32{0, fsrWnR} {
			f := DecodeData(st|wnr, 0xc0001234)
			acc := Read
			if wnr != 0 {
				acc = Write
			}
			if f.Kind != c.kind || f.Level != c.level || f.Access != acc || f.Addr != 0xc0001234 || f.FS() != c.fs || f.Status != st|wnr {
				t.Errorf("DFSR FS %05b WnR %d: %+v", c.fs, wnr>>11, f)
			}
		}
		f := DecodePrefetch(st, 0x80001000)
		if c.ifsr && (f.Kind != c.kind || f.Level != c.level) || !c.ifsr && c.fs != FSAlignment && f.Kind != KindOther {
			t.Errorf("IFSR FS %05b: %+v", c.fs, f)
		}
		if f.Access != Execute || f.Addr != 0x80001000 {
			t.Errorf("IFSR: %+v", f)
		}
	}
	// The codes DESIGN.md lists, as raw DFSR values seen in QEMU.
	if f := DecodeData(0x806, 0xc0000000); f.Kind != KindAccessFlag || f.Level != 2 || f.Access != Write {
		t.Errorf("DFSR 0x806: %+v", f)
	}
	if f := DecodeData(0x80f, 0xc0000000); f.Kind != KindPermission || f.Level != 2 || f.Access != Write {
		t.Errorf("DFSR 0x80f: %+v", f)
	}
	// Cache maintenance on an unmapped address: CM=1, WnR=1.
	if f := DecodeData(fsrCM|fsrWnR|FSTranslationPage, 0xc0000000); !f.CacheMaintenance() || f.Kind != KindTranslation {
		t.Errorf("CM fault: %+v", f)
	}
	if f := DecodeData(0x406, 0); f.Synchronous() || f.AddrValid() {
		t.Errorf("DFSR 0x406 (async external): %+v", f)
	}
	if f := DecodeData(FSTranslationPage, 0); !f.Synchronous() || !f.AddrValid() {
		t.Errorf("translation: %+v", f)
	}
}

func FuzzDecodeData(f *testing.F) {
	f.Add(uint32(0x80f), uint32(0xc0000000))
	f.Add(uint32(0x406), uint32(0))
	f.Fuzz(func(t *testing.T, fsr, far uint32) {
		d := DecodeData(fsr, far)
		p := DecodePrefetch(fsr, far)
		fs := fsr&0xf | fsr>>6&0x10
		if d.FS() != fs || p.FS() != fs || d.Addr != far || d.Status != fsr {
			t.Fatalf("%#x: %+v", fsr, d)
		}
		if (d.Access == Write) != (fsr&fsrWnR != 0) || p.Access != Execute {
			t.Fatalf("%#x: access %v", fsr, d.Access)
		}
		if d.Level > 2 || p.Level > 2 || d.Kind > KindCacheMaintenance {
			t.Fatalf("%#x: %+v", fsr, d)
		}
		if (d.Level != 0) != (d.Kind == KindTranslation || d.Kind == KindAccessFlag || d.Kind == KindDomain ||
			d.Kind == KindPermission || fs == FSExternalWalkL1 || fs == FSExternalWalkL2 ||
			fs == FSParityWalkL1 || fs == FSParityWalkL2) {
			t.Fatalf("%#x: level %d for %v", fsr, d.Level, d.Kind)
		}
	})
}

func TestFaultDecodingAllocatesNothing(t *testing.T) {
	var sink Fault
	n := testing.AllocsPerRun(100, func() {
		sink = DecodeData(0x80f, 0xc0001000)
		sink = DecodePrefetch(0x00d, 0x80001000)
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
	_ = sink
}

type scriptedHandler struct {
	r     Resolution
	seen  []Fault
	onG0s []bool
}

func (h *scriptedHandler) HandleFault(f *Fault, onG0 bool) Resolution {
	h.seen = append(h.seen, *f)
	h.onG0s = append(h.onG0s, onG0)
	return h.r
}

func TestDispatcherOneHandler(t *testing.T) {
	var d Dispatcher
	f := DecodeData(fsrWnR|FSTranslationPage, 0xc0000000)
	if r := d.Dispatch(&f, false); r != Unhandled {
		t.Errorf("no handler: %v", r)
	}
	h := &scriptedHandler{r: Retry}
	if old := d.Register(h); old != nil {
		t.Errorf("previous handler %v", old)
	}
	if r := d.Dispatch(&f, false); r != Retry || len(h.seen) != 1 || !h.seen[0].Same(&f) {
		t.Errorf("retry: %v %+v", r, h.seen)
	}
	h.r = Yield
	if r := d.Dispatch(&f, false); r != Yield {
		t.Errorf("yield off g0: %v", r)
	}
	if r := d.Dispatch(&f, true); r != Unhandled || !h.onG0s[2] {
		t.Errorf("yield on g0: %v", r)
	}
	async := DecodeData(0x406, 0)
	if r := d.Dispatch(&async, false); r != Unhandled || len(h.seen) != 3 {
		t.Errorf("async abort reached the handler: %v", r)
	}
	h.r = Resolution(9)
	if r := d.Dispatch(&f, false); r != Unhandled {
		t.Errorf("bad resolution: %v", r)
	}
	if d.Counts != [3]uint64{4, 1, 1} {
		t.Errorf("counts %v", d.Counts)
	}
	if old := d.Register(noopHandler{}); old != h {
		t.Error("Register did not return the previous handler")
	}
	if n := testing.AllocsPerRun(100, func() { d.Dispatch(&f, false) }); n != 0 {
		t.Errorf("Dispatch allocates %v", n)
	}
}

type noopHandler struct{}

func (noopHandler) HandleFault(*Fault, bool) Resolution { return Retry }
