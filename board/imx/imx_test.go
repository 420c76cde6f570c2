package imx

import (
	"bytes"
	"encoding/binary"
	"os"
	"strings"
	"testing"
)

// armELF builds a minimal 32-bit ARM executable with one loadable segment
// of data at addr, memsz bytes long in memory.
func armELF(addr, entry uint32, data []byte, memsz uint32) []byte {
	le := binary.LittleEndian
	var b bytes.Buffer
	h := make([]byte, 52)
	copy(h, "\x7fELF\x01\x01\x01")
	le.PutUint16(h[16:], 2)  // ET_EXEC
	le.PutUint16(h[18:], 40) // EM_ARM
	le.PutUint32(h[20:], 1)
	le.PutUint32(h[24:], entry)
	le.PutUint32(h[28:], 52) // phoff
	le.PutUint16(h[40:], 52) // ehsize
	le.PutUint16(h[42:], 32) // phentsize
	le.PutUint16(h[44:], 1)  // phnum
	le.PutUint16(h[46:], 40) // shentsize
	b.Write(h)
	p := make([]byte, 32)
	le.PutUint32(p[0:], 1) // PT_LOAD
	le.PutUint32(p[4:], 84)
	le.PutUint32(p[8:], addr)
	le.PutUint32(p[12:], addr)
	le.PutUint32(p[16:], uint32(len(data)))
	le.PutUint32(p[20:], memsz)
	le.PutUint32(p[24:], 5)
	b.Write(p)
	b.Write(data)
	return b.Bytes()
}

func TestFlatBinaryZeroFillsBSS(t *testing.T) {
	e := armELF(0x80010000, 0x80010004, []byte{1, 2, 3, 4, 5, 6, 7, 8}, 16)
	bin, entry, err := FlatBinary(bytes.NewReader(e), 0x80010000)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(bin, want) || entry != 0x80010004 {
		t.Fatalf("FlatBinary = %v, %#x; want %v, 0x80010004", bin, entry, want)
	}
}

func TestFlatBinaryRejects(t *testing.T) {
	self, _ := os.Open(os.Args[0]) // a host executable, not ARM
	defer self.Close()
	if _, _, err := FlatBinary(self, 0x80010000); err == nil {
		t.Error("a host executable was accepted")
	}
	e := armELF(0x80010000, 0x90000000, []byte{1, 2, 3, 4}, 4)
	if _, _, err := FlatBinary(bytes.NewReader(e), 0x80010000); err == nil || !strings.Contains(err.Error(), "entry point") {
		t.Errorf("an entry outside the image: %v", err)
	}
	e = armELF(0x70000000, 0x70000000, []byte{1, 2, 3, 4}, 4)
	if _, _, err := FlatBinary(bytes.NewReader(e), 0x80010000); err == nil {
		t.Error("an image below the base was accepted")
	}
}

// synthetic builds an .imx as mkimage lays it out for an SD card: IVT at
// file offset 0 and 1 KiB into the load, boot data, DCD, then payload.
func synthetic(payload int) []byte {
	const self = 0x8000f400
	le, be := binary.LittleEndian, binary.BigEndian
	b := make([]byte, 0x400+payload)
	b[0], b[3] = TagIVT, 0x40
	be.PutUint16(b[1:], 32)
	le.PutUint32(b[4:], self+0x800)  // entry
	le.PutUint32(b[12:], self+0x2c)  // dcd
	le.PutUint32(b[16:], self+0x20)  // boot data
	le.PutUint32(b[20:], self)       // self
	le.PutUint32(b[32:], self-0x400) // boot data: start
	le.PutUint32(b[36:], uint32(len(b)+0x400))
	d := b[0x2c:]
	d[0], d[3] = TagDCD, 0x40
	be.PutUint16(d[1:], 4+4+16)
	d[4] = TagWrite
	be.PutUint16(d[5:], 4+16)
	d[7] = 4
	be.PutUint32(d[8:], 0x021b0000)
	be.PutUint32(d[12:], 0x1234)
	be.PutUint32(d[16:], 0x020e4024)
	be.PutUint32(d[20:], 1)
	return b
}

func TestParseSyntheticImage(t *testing.T) {
	im, err := Parse(synthetic(4096))
	if err != nil {
		t.Fatal(err)
	}
	if im.LoadOffset() != 0x400 || len(im.DCD) != 2 || im.DCD[1] != (Write{0x020e4024, 1}) {
		t.Fatalf("parsed %+v", im)
	}
}

func TestParseRejectsBrokenHeaders(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name   string
		break_ func([]byte)
	}{
		{"no ivt", func(b []byte) { b[0] = 0 }},
		{"bad version", func(b []byte) { b[3] = 0x20 }},
		{"entry outside", func(b []byte) { le.PutUint32(b[4:], 0x10) }},
		{"boot data outside", func(b []byte) { le.PutUint32(b[16:], 0x9000_0000) }},
		{"short load", func(b []byte) { le.PutUint32(b[36:], 16) }},
		{"no dcd tag", func(b []byte) { b[0x2c] = 0 }},
		{"dcd too long", func(b []byte) { binary.BigEndian.PutUint16(b[0x2d:], 0xffff) }},
		{"odd write", func(b []byte) { binary.BigEndian.PutUint16(b[0x31:], 4+12) }},
		{"unknown command", func(b []byte) { b[0x30] = 0x77 }},
	}
	for _, c := range cases {
		b := synthetic(4096)
		c.break_(b)
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: Parse accepted a broken header", c.name)
		}
	}
}

func TestPatchEntry(t *testing.T) {
	b := synthetic(4096)
	if err := PatchEntry(b, 0x8000f400+0x900); err != nil {
		t.Fatal(err)
	}
	if im, _ := Parse(b); im.IVT.Entry != 0x8000f400+0x900 {
		t.Fatalf("entry %#x after patch", im.IVT.Entry)
	}
	if err := PatchEntry(b, 0x1000); err == nil {
		t.Fatal("an entry outside the image was patched in")
	}
}

// TestBuiltImage checks the .imx that make imx built (make test sets
// TAMACH_IMX and TAMACH_IMX_ELF): a valid header, the board's DDR set up by
// the DCD, the TZASC bypass the runtime needs, and the ELF's entry point.
func TestBuiltImage(t *testing.T) {
	path, elfPath := os.Getenv("TAMACH_IMX"), os.Getenv("TAMACH_IMX_ELF")
	if path == "" || elfPath == "" {
		t.Skip("checks the image of make imx: run by make test (TAMACH_IMX, TAMACH_IMX_ELF)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(elfPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entry, err := Entry(f)
	if err != nil {
		t.Fatal(err)
	}
	if im.IVT.Entry != entry {
		t.Errorf("IVT entry %#x, ELF entry %#x", im.IVT.Entry, entry)
	}
	if im.LoadOffset() != 0x400 {
		t.Errorf("IVT %#x into the load, want 0x400 for an SD card", im.LoadOffset())
	}
	var mmdc, tzasc bool
	for _, w := range im.DCD {
		mmdc = mmdc || w.Address&0xffffc000 == 0x021b0000 // MMDC (IMX6ULLRM 33.12)
		tzasc = tzasc || w == Write{0x020e4024, 1}        // IOMUXC_GPR_GPR9 TZASC1_BYP
	}
	if !mmdc || !tzasc {
		t.Errorf("DCD of %d writes: DDR controller set up %v, TZASC bypass %v", len(im.DCD), mmdc, tzasc)
	}
}

// FuzzParse feeds Parse arbitrary headers: it must return an image whose
// pointers lie inside the file, or an error, and never panic.
func FuzzParse(f *testing.F) {
	f.Add(synthetic(64))
	f.Add(synthetic(0))
	f.Add([]byte{TagIVT, 0, 32, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Parse(b)
		if err != nil {
			return
		}
		if im.IVT.Offset+ivtSize > len(b) {
			t.Fatalf("IVT at %d past a %d-byte file", im.IVT.Offset, len(b))
		}
		if err := PatchEntry(append([]byte(nil), b...), im.IVT.Entry); err != nil {
			t.Fatalf("PatchEntry refused the entry Parse accepted: %v", err)
		}
	})
}
