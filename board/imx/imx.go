// Package imx reads and writes the boot images of the NXP i.MX6 boot ROM:
// the flat binary of a TamaGo ELF, and the image vector table (IVT), boot
// data and device configuration data (DCD) that mkimage -T imximage puts in
// front of it.
//
// Formats: i.MX 6ULL Applications Processor Reference Manual (IMX6ULLRM),
// 8.7 "Program image": 8.7.1 Image Vector Table, 8.7.1.1 boot data,
// 8.7.2 Device Configuration Data. Header fields are big-endian, addresses
// and values in the IVT and boot data are little-endian words.
package imx

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Header tags (IMX6ULLRM 8.7.1, 8.7.2).
const (
	TagIVT   = 0xd1
	TagDCD   = 0xd2
	TagWrite = 0xcc
	TagCheck = 0xcf
	TagNOP   = 0xc0
	TagUnlck = 0xb2

	ivtSize = 32
)

// FlatBinary returns the memory image of a statically linked ARM ELF from
// base on: every loadable segment at its address less base, with the part
// past the file's bytes (bss) zero-filled, as the boot ROM must load it.
// It also returns the ELF entry point.
func FlatBinary(r io.ReaderAt, base uint32) ([]byte, uint32, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if f.Machine != elf.EM_ARM || f.Class != elf.ELFCLASS32 {
		return nil, 0, fmt.Errorf("not a 32-bit ARM ELF: %v %v", f.Class, f.Machine)
	}
	var end uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Paddr+p.Memsz > end {
			end = p.Paddr + p.Memsz
		}
	}
	if end <= uint64(base) {
		return nil, 0, fmt.Errorf("no loadable segment above %#x", base)
	}
	if end-uint64(base) > 256<<20 {
		return nil, 0, fmt.Errorf("image of %d MiB from %#x is too large", (end-uint64(base))>>20, base)
	}
	out := make([]byte, end-uint64(base))
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Filesz == 0 {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			return nil, 0, fmt.Errorf("segment at %#x: %v", p.Paddr, err)
		}
		start := p.Paddr
		if start < uint64(base) {
			skip := uint64(base) - start
			if skip >= uint64(len(data)) {
				continue
			}
			data, start = data[skip:], uint64(base)
		}
		copy(out[start-uint64(base):], data)
	}
	entry := uint32(f.Entry)
	if uint64(entry) < uint64(base) || uint64(entry) >= end {
		return nil, 0, fmt.Errorf("entry point %#x is outside the image %#x-%#x", entry, base, end)
	}
	return out, entry, nil
}

// Entry returns the entry point of an ELF file.
func Entry(r io.ReaderAt) (uint32, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return uint32(f.Entry), nil
}

// IVT is the image vector table (IMX6ULLRM 8.7.1, Table 8-23).
type IVT struct {
	Offset   int // where in the file the IVT starts
	Version  uint8
	Entry    uint32
	DCD      uint32
	BootData uint32
	Self     uint32
	CSF      uint32
}

// BootData says where the boot ROM loads the image (IMX6ULLRM 8.7.1.1).
type BootData struct {
	Start  uint32
	Length uint32
	Plugin uint32
}

// Write is one register write of a DCD write-data command.
type Write struct {
	Address, Value uint32
}

// Image is the parsed header of an .imx file.
type Image struct {
	IVT      IVT
	BootData BootData
	DCD      []Write
}

// LoadOffset is how far into the loaded region the IVT lies: where on the
// boot device the image file starts (1 KiB for an SD card).
func (im *Image) LoadOffset() uint32 { return im.IVT.Self - im.BootData.Start }

func (im *Image) loadEnd() uint64 { return uint64(im.BootData.Start) + uint64(im.BootData.Length) }

// fileOffset converts a load address to an offset in the file.
func (im *Image) fileOffset(addr uint32) (int, bool) {
	if addr < im.IVT.Self {
		return 0, false
	}
	return im.IVT.Offset + int(addr-im.IVT.Self), true
}

// Parse reads the IVT, boot data and DCD of an .imx file and checks that
// they are consistent: the IVT points at itself, the boot data and DCD lie
// inside the file, the entry point lies inside the loaded image, and the
// load covers the whole file.
func Parse(b []byte) (*Image, error) {
	im := &Image{}
	off := -1
	for _, o := range []int{0, 0x400} {
		if len(b) >= o+ivtSize && b[o] == TagIVT && binary.BigEndian.Uint16(b[o+1:]) == ivtSize {
			off = o
			break
		}
	}
	if off < 0 {
		return nil, errors.New("no IVT (tag 0xd1, length 32) at offset 0 or 0x400")
	}
	le := binary.LittleEndian
	v := b[off:]
	im.IVT = IVT{Offset: off, Version: v[3], Entry: le.Uint32(v[4:]), DCD: le.Uint32(v[12:]),
		BootData: le.Uint32(v[16:]), Self: le.Uint32(v[20:]), CSF: le.Uint32(v[24:])}
	if im.IVT.Version < 0x40 || im.IVT.Version > 0x43 {
		return nil, fmt.Errorf("IVT version %#x, want 0x40-0x43", im.IVT.Version)
	}
	bd, ok := im.fileOffset(im.IVT.BootData)
	if !ok || bd+12 > len(b) {
		return nil, fmt.Errorf("boot data at %#x lies outside the file", im.IVT.BootData)
	}
	im.BootData = BootData{Start: le.Uint32(b[bd:]), Length: le.Uint32(b[bd+4:]), Plugin: le.Uint32(b[bd+8:])}
	if im.BootData.Start > im.IVT.Self {
		return nil, fmt.Errorf("boot data start %#x lies past the IVT at %#x", im.BootData.Start, im.IVT.Self)
	}
	// The load starts LoadOffset bytes before the IVT: on an SD card the
	// IVT sits 1 KiB into the device and the file is written there.
	if need := uint64(im.LoadOffset()) + uint64(len(b)-off); uint64(im.BootData.Length) < need {
		return nil, fmt.Errorf("boot data loads %d bytes, the image needs %d", im.BootData.Length, need)
	}
	end := im.loadEnd()
	if im.IVT.Entry <= im.IVT.Self || uint64(im.IVT.Entry) >= end {
		return nil, fmt.Errorf("entry point %#x lies outside the loaded image %#x-%#x", im.IVT.Entry, im.IVT.Self, end)
	}
	if im.IVT.DCD == 0 {
		return im, nil
	}
	d, ok := im.fileOffset(im.IVT.DCD)
	if !ok || d+4 > len(b) || b[d] != TagDCD {
		return nil, fmt.Errorf("no DCD header (tag 0xd2) at %#x", im.IVT.DCD)
	}
	n := int(binary.BigEndian.Uint16(b[d+1:]))
	if d+n > len(b) || n < 4 {
		return nil, fmt.Errorf("DCD of %d bytes runs past the file", n)
	}
	dcd := b[d+4 : d+n]
	for len(dcd) > 0 {
		if len(dcd) < 4 {
			return nil, errors.New("truncated DCD command")
		}
		tag, clen := dcd[0], int(binary.BigEndian.Uint16(dcd[1:]))
		if clen < 4 || clen > len(dcd) {
			return nil, fmt.Errorf("DCD command %#x of length %d runs past the DCD", tag, clen)
		}
		switch tag {
		case TagWrite:
			if (clen-4)%8 != 0 {
				return nil, fmt.Errorf("DCD write command of length %d is not whole pairs", clen)
			}
			for p := 4; p < clen; p += 8 {
				im.DCD = append(im.DCD, Write{binary.BigEndian.Uint32(dcd[p:]), binary.BigEndian.Uint32(dcd[p+4:])})
			}
		case TagCheck, TagNOP, TagUnlck:
		default:
			return nil, fmt.Errorf("unknown DCD command tag %#x", tag)
		}
		dcd = dcd[clen:]
	}
	return im, nil
}

// PatchEntry sets the IVT entry point of an .imx file. mkimage derives the
// load address from its -e argument, so an image is made with -e at the
// start of the flat binary and patched to the ELF entry afterwards.
func PatchEntry(b []byte, entry uint32) error {
	im, err := Parse(b)
	if err != nil {
		return err
	}
	end := im.loadEnd()
	if entry <= im.IVT.Self || uint64(entry) >= end {
		return fmt.Errorf("entry point %#x lies outside the loaded image %#x-%#x", entry, im.IVT.Self, end)
	}
	binary.LittleEndian.PutUint32(b[im.IVT.Offset+4:], entry)
	return nil
}
