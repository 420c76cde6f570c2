package store

import (
	"errors"
	"fmt"
	"sync"
)

// BlockDevice is a device of fixed-size blocks, such as an SD card
// (board/usdhc.Card).
type BlockDevice interface {
	// BlockSize is the size of a block in bytes.
	BlockSize() int
	// Blocks is the device's capacity in blocks.
	Blocks() uint64
	// ReadBlocks reads len(p)/BlockSize() blocks from block lba.
	ReadBlocks(lba uint64, p []byte) error
	// WriteBlocks writes p, whole blocks, from block lba, and returns
	// when they are on the device.
	WriteBlocks(lba uint64, p []byte) error
}

// Device is a store on a range of a BlockDevice's blocks: slot i is the
// n = ceil(PageSize()/BlockSize()) blocks from first + i*n, moved with one
// device call (for an SD card, one multiple-block command). A page size
// that is not a multiple of the block size (a Sealed store's inner slot,
// 4 KiB + Overhead) goes through a scratch slot of whole blocks, the
// tail written as zeros. It keeps no header: what the blocks held before
// is not read, and a slot never written reads as whatever the device
// holds there (a pager reads only slots it wrote).
//
// Device is a RunStore: ReadPages and WritePages move a run of slots of
// whole blocks with one device call (for an SD card, one CMD18 or CMD25
// instead of one per page); slots that are not whole blocks go one device
// call per slot through the scratch slot. The default pager's clustering
// keeps an object's neighbouring pages in neighbouring slots, and it moves
// such runs with one call.
//
// # Errors
//
// A slot beyond the store or a buffer of the wrong size is ErrRange and
// reaches no device. A device error is wrapped with ErrIO, so errors.Is
// finds both ErrIO and the device's own error (for an SD card,
// usdhc.ErrTimeout, usdhc.ErrCRC, ...). After a failed write the slot
// holds unknown data, as the package documentation says of a failed
// WritePage; after a failed read p is cleared.
//
// # Fault safety
//
// A Device is not fault-safe: a device call may wait for the device and
// yield the processor while it does (an SD card's programming takes up to
// 250 ms), which a page-fault handler must not. The default pager over a
// Device is therefore not mo.FaultSafe, and vm calls it from its call
// workers. ReadPage and WritePage allocate nothing but error values.
//
// Pages of whole blocks go straight to the device, which must be safe
// for concurrent use (usdhc.Card is); other page sizes serialise on the
// scratch slot's mutex, a leaf held across one device call.
type Device struct {
	dev   BlockDevice
	first uint64
	per   uint64 // blocks per slot
	ps    int
	pages uint64

	mu      sync.Mutex
	scratch []byte // protected by mu: one slot of whole blocks, nil when ps is whole blocks
}

var _ RunStore = (*Device)(nil)

// NewDevice makes a store of pages slots of pageSize bytes on dev's blocks
// from first; pages 0 takes every slot to the end of the device. The
// slots must fit on the device.
func NewDevice(dev BlockDevice, first uint64, pages uint64, pageSize int) (*Device, error) {
	bs := dev.BlockSize()
	if bs <= 0 || pageSize <= 0 || pageSize > MaxPageSize {
		return nil, fmt.Errorf("%w: page size %d, block size %d", ErrRange, pageSize, bs)
	}
	per := uint64((pageSize + bs - 1) / bs)
	blocks := dev.Blocks()
	if first > blocks {
		return nil, fmt.Errorf("%w: first block %d beyond the device's %d", ErrRange, first, blocks)
	}
	fit := (blocks - first) / per
	if pages == 0 {
		pages = fit
	}
	if pages == 0 || pages > fit {
		return nil, fmt.Errorf("%w: %d pages of %d bytes from block %d do not fit in %d blocks", ErrRange, pages, pageSize, first, blocks)
	}
	d := &Device{dev: dev, first: first, per: per, ps: pageSize, pages: pages}
	if pageSize%bs != 0 {
		d.scratch = make([]byte, int(per)*bs)
	}
	return d, nil
}

// PageSize implements Store.
func (d *Device) PageSize() int { return d.ps }

// Pages implements Store.
func (d *Device) Pages() uint64 { return d.pages }

// ReadPage implements Store.
func (d *Device) ReadPage(slot uint64, p []byte) error {
	if err := check(slot, d.pages, p, d.ps); err != nil {
		return err
	}
	var err error
	if d.scratch == nil {
		err = d.dev.ReadBlocks(d.first+slot*d.per, p)
	} else {
		d.mu.Lock()
		err = d.dev.ReadBlocks(d.first+slot*d.per, d.scratch)
		copy(p, d.scratch)
		d.mu.Unlock()
	}
	if err != nil {
		clear(p)
		return deviceError(err)
	}
	return nil
}

// WritePage implements Store.
func (d *Device) WritePage(slot uint64, p []byte) error {
	if err := check(slot, d.pages, p, d.ps); err != nil {
		return err
	}
	var err error
	if d.scratch == nil {
		err = d.dev.WriteBlocks(d.first+slot*d.per, p)
	} else {
		d.mu.Lock()
		n := copy(d.scratch, p)
		clear(d.scratch[n:])
		err = d.dev.WriteBlocks(d.first+slot*d.per, d.scratch)
		d.mu.Unlock()
	}
	if err != nil {
		return deviceError(err)
	}
	return nil
}

// ReadPages implements RunStore.
func (d *Device) ReadPages(slot uint64, p []byte) error {
	if err := checkRun(slot, d.pages, p, d.ps); err != nil {
		return err
	}
	if d.scratch != nil {
		for i := 0; i < len(p); i += d.ps {
			if err := d.ReadPage(slot+uint64(i/d.ps), p[i:i+d.ps]); err != nil {
				clear(p)
				return err
			}
		}
		return nil
	}
	if err := d.dev.ReadBlocks(d.first+slot*d.per, p); err != nil {
		clear(p)
		return deviceError(err)
	}
	return nil
}

// WritePages implements RunStore.
func (d *Device) WritePages(slot uint64, p []byte) error {
	if err := checkRun(slot, d.pages, p, d.ps); err != nil {
		return err
	}
	if d.scratch != nil {
		for i := 0; i < len(p); i += d.ps {
			if err := d.WritePage(slot+uint64(i/d.ps), p[i:i+d.ps]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := d.dev.WriteBlocks(d.first+slot*d.per, p); err != nil {
		return deviceError(err)
	}
	return nil
}

// deviceError wraps a device's error with ErrIO.
func deviceError(err error) error {
	if errors.Is(err, ErrIO) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrIO, err)
}

// FaultSafe implements FaultSafe: a Device is not (see the type's
// documentation).
func (d *Device) FaultSafe() bool { return false }

// Sync implements Store: every WriteBlocks returned only when its blocks
// were on the device, so there is nothing to wait for.
func (d *Device) Sync() error { return nil }

// MemDevice is a BlockDevice in memory with 512-byte blocks, for tests
// and tools. Calls on distinct blocks may run concurrently.
type MemDevice []byte

// MemBlockSize is a MemDevice's block size.
const MemBlockSize = 512

var _ BlockDevice = MemDevice(nil)

// BlockSize implements BlockDevice.
func (m MemDevice) BlockSize() int { return MemBlockSize }

// Blocks implements BlockDevice.
func (m MemDevice) Blocks() uint64 { return uint64(len(m) / MemBlockSize) }

func (m MemDevice) span(lba uint64, p []byte) (int, error) {
	n := uint64(len(p) / MemBlockSize)
	if len(p)%MemBlockSize != 0 || lba > m.Blocks() || n > m.Blocks()-lba {
		return 0, ErrRange
	}
	return int(lba) * MemBlockSize, nil
}

// ReadBlocks implements BlockDevice.
func (m MemDevice) ReadBlocks(lba uint64, p []byte) error {
	off, err := m.span(lba, p)
	if err == nil {
		copy(p, m[off:])
	}
	return err
}

// WriteBlocks implements BlockDevice.
func (m MemDevice) WriteBlocks(lba uint64, p []byte) error {
	off, err := m.span(lba, p)
	if err == nil {
		copy(m[off:], p)
	}
	return err
}
