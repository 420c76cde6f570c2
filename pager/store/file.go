package store

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
)

// HeaderSize is the size of the header at the start of a File store; slot
// i is at HeaderSize + i*PageSize.
const HeaderSize = 512

const (
	headerMagic   = "TAMACHST"
	headerVersion = 1
	headerLen     = 28 // magic, version, page size, pages, crc32
)

// Header describes a File store: its slot size and count.
type Header struct {
	PageSize int
	Pages    uint64
}

// Encode writes h in its on-disk form into b, which is at least
// HeaderSize bytes: "TAMACHST", version 1, page size (uint32), pages
// (uint64), all little endian, then the CRC-32 (IEEE) of those 24 bytes,
// and zeros to HeaderSize.
func (h Header) Encode(b []byte) {
	clear(b[:HeaderSize])
	copy(b, headerMagic)
	binary.LittleEndian.PutUint32(b[8:], headerVersion)
	binary.LittleEndian.PutUint32(b[12:], uint32(h.PageSize))
	binary.LittleEndian.PutUint64(b[16:], h.Pages)
	binary.LittleEndian.PutUint32(b[24:], crc32.ChecksumIEEE(b[:24]))
}

// MaxPageSize bounds a File store's slot size.
const MaxPageSize = 1 << 24

// DecodeHeader decodes a header written by Encode. Anything else (a wrong
// magic, version or checksum, a page size that is zero, not a multiple of
// 512 or above MaxPageSize, a page count whose data would not fit in an
// int64 file offset, non-zero padding) is ErrFormat.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize || string(b[:8]) != headerMagic ||
		binary.LittleEndian.Uint32(b[8:]) != headerVersion ||
		binary.LittleEndian.Uint32(b[24:]) != crc32.ChecksumIEEE(b[:24]) {
		return Header{}, ErrFormat
	}
	for _, c := range b[headerLen:HeaderSize] {
		if c != 0 {
			return Header{}, ErrFormat
		}
	}
	ps := binary.LittleEndian.Uint32(b[12:])
	pages := binary.LittleEndian.Uint64(b[16:])
	if ps == 0 || ps%512 != 0 || ps > MaxPageSize || pages > (1<<62-HeaderSize)/uint64(ps) {
		return Header{}, ErrFormat
	}
	return Header{PageSize: int(ps), Pages: pages}, nil
}

// File is a store in an os.File: a header, then the slots.
type File struct {
	f     *os.File
	ps    int
	pages uint64
}

var _ Store = (*File)(nil)

// CreateFile makes a store of pages slots of pageSize bytes in f,
// writing its header and sizing the file (sparse where the file system
// allows). pageSize is a multiple of 512 up to MaxPageSize.
func CreateFile(f *os.File, pageSize int, pages uint64) (*File, error) {
	h := Header{PageSize: pageSize, Pages: pages}
	var b [HeaderSize]byte
	h.Encode(b[:])
	if _, err := DecodeHeader(b[:]); err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(b[:], 0); err != nil {
		return nil, err
	}
	if err := f.Truncate(HeaderSize + int64(pages)*int64(pageSize)); err != nil {
		return nil, err
	}
	return &File{f: f, ps: pageSize, pages: pages}, nil
}

// OpenFile opens a store made by CreateFile, checking its header and that
// the file holds every slot.
func OpenFile(f *os.File) (*File, error) {
	var b [HeaderSize]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		if err == io.EOF {
			return nil, ErrFormat
		}
		return nil, err
	}
	h, err := DecodeHeader(b[:])
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < HeaderSize+int64(h.Pages)*int64(h.PageSize) {
		return nil, ErrFormat
	}
	return &File{f: f, ps: h.PageSize, pages: h.Pages}, nil
}

// PageSize implements Store.
func (s *File) PageSize() int { return s.ps }

// Pages implements Store.
func (s *File) Pages() uint64 { return s.pages }

// ReadPage implements Store. A read that comes back short is ErrIO.
func (s *File) ReadPage(slot uint64, p []byte) error {
	if err := check(slot, s.pages, p, s.ps); err != nil {
		return err
	}
	n, err := s.f.ReadAt(p, HeaderSize+int64(slot)*int64(s.ps))
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return ErrIO
	}
	return err
}

// WritePage implements Store. A write that stops short is ErrShortWrite.
func (s *File) WritePage(slot uint64, p []byte) error {
	if err := check(slot, s.pages, p, s.ps); err != nil {
		return err
	}
	n, err := s.f.WriteAt(p, HeaderSize+int64(slot)*int64(s.ps))
	if n == len(p) {
		return nil
	}
	if err == nil {
		return ErrShortWrite
	}
	return err
}

// Sync implements Store with fsync.
func (s *File) Sync() error { return s.f.Sync() }
