// Package store is the backing storage of tamach's pagers: one small
// interface, Store, an array of fixed-size page slots that can be read,
// written and synced, and its implementations.
//
//   - RAM: a plain byte slice. On the target it is the region the board
//     reserves for paging; here it is whatever slice the caller gives.
//   - File: an os.File with a small header, for host tests and tools.
//   - Device: a range of a BlockDevice's blocks, such as an SD card
//     (board/usdhc), one device call per page or per run of pages.
//   - Sealed: a wrapper that encrypts and authenticates every page with
//     AES-GCM or ChaCha20-Poly1305, binding the slot and a per-slot
//     version kept in RAM, so that a tampered, swapped or replayed page
//     reads as ErrAuth, never as wrong data.
//   - Faulty: a wrapper that fails reads and writes on a schedule, writes
//     short, or reports the store full, for tests of what a pager does
//     with each failure.
//
// # Errors
//
// A failed ReadPage leaves p with unspecified contents and returns an
// error; a pager turns it into data_error for that page. A failed
// WritePage may have written part of the slot (a short write), so the
// slot's old contents are lost but its new contents are not there either:
// a pager that gets an error from WritePage must treat the page as not
// stored and refuse the page-out, so that the kernel keeps it dirty. The
// error values below can be tested with errors.Is.
//
// # Runs of slots
//
// A Store that can move several consecutive slots in one call implements
// RunStore: ReadPages and WritePages take a buffer of a whole number of
// pages, slot after slot from the first. RAM and Device do (for Device,
// one device call, such as one SD multiple-block command, instead of one
// per page); Sealed and Faulty do not. A run's errors are its pages'
// errors: a failed ReadPages leaves all of p unspecified and every page of
// the run is to be treated as a failed read; a failed WritePages may have
// written any part of the run, so every slot of it holds unknown data and
// a pager must treat every page of the run as not stored.
//
// # Allocation and blocking
//
// ReadPage and WritePage allocate nothing on any implementation here (File
// makes system calls, which is why it is a host store; Device allocates
// only its error values). RAM and Sealed over
// RAM never block, so a pager may call them with its own lock held.
//
// # Fault safety
//
// A Store that implements FaultSafe and answers true may be read from a
// page-fault handler, which on TamaGo runs on the system stack (g0) with
// interrupts masked: its ReadPage uses no defer, allocates nothing, never
// blocks or yields (no channel, no sleep, no mutex that another goroutine
// may hold across a wait), touches no memory that can fault, and returns
// promptly. Its WritePage allocates nothing and never blocks either, so a
// pager may hold the lock its fault path takes across it. RAM is
// fault-safe; Sealed and Faulty are when their inner store is; File is
// not (system calls), nor is Device (it waits for the device, yielding). A pager offers mo.FaultSafe objects only over
// fault-safe stores.
//
// # Concurrency
//
// Every Store here is safe for concurrent use; calls on distinct slots of
// RAM run in parallel, Sealed and Faulty serialise their calls with a
// mutex of their own (a leaf: nothing is called with it held but the
// inner store).
package store

import "errors"

// Store is an array of Pages() slots of PageSize() bytes each.
type Store interface {
	// PageSize is the size of a slot in bytes.
	PageSize() int
	// Pages is the number of slots.
	Pages() uint64
	// ReadPage reads slot into p, which is PageSize() bytes long.
	ReadPage(slot uint64, p []byte) error
	// WritePage writes p, PageSize() bytes long, into slot.
	WritePage(slot uint64, p []byte) error
	// Sync makes every completed WritePage stable.
	Sync() error
}

// RunStore is a Store that moves a run of consecutive slots in one call;
// see the package documentation.
type RunStore interface {
	Store
	// ReadPages reads len(p)/PageSize() slots from slot into p, a
	// non-zero whole number of pages.
	ReadPages(slot uint64, p []byte) error
	// WritePages writes p, a non-zero whole number of pages, into the
	// slots from slot.
	WritePages(slot uint64, p []byte) error
}

// Errors of the stores.
var (
	// ErrRange: a slot beyond Pages() or a buffer of the wrong size.
	ErrRange = errors.New("store: slot out of range or buffer not one page")
	// ErrIO: the device failed the transfer.
	ErrIO = errors.New("store: i/o error")
	// ErrShortWrite: only part of the page reached the device.
	ErrShortWrite = errors.New("store: short write")
	// ErrFull: the device has no room for the write.
	ErrFull = errors.New("store: no space left on the device")
	// ErrAuth: a sealed page failed authentication (tampered, swapped or
	// replayed), or a slot was read that was never written.
	ErrAuth = errors.New("store: page failed authentication")
	// ErrFormat: a store's header is malformed.
	ErrFormat = errors.New("store: malformed header")
)

// FaultSafe is implemented by a Store that may be called from a
// page-fault handler; see the package documentation.
type FaultSafe interface {
	FaultSafe() bool
}

// IsFaultSafe reports whether st implements FaultSafe and answers true.
func IsFaultSafe(st Store) bool {
	fs, ok := st.(FaultSafe)
	return ok && fs.FaultSafe()
}

// check returns ErrRange unless slot is below pages and p is ps bytes.
func check(slot, pages uint64, p []byte, ps int) error {
	if slot >= pages || len(p) != ps {
		return ErrRange
	}
	return nil
}

// checkRun returns ErrRange unless p is a non-zero whole number of ps
// byte pages whose slots from slot are all below pages.
func checkRun(slot, pages uint64, p []byte, ps int) error {
	if len(p) == 0 || len(p)%ps != 0 || slot >= pages || uint64(len(p)/ps) > pages-slot {
		return ErrRange
	}
	return nil
}

// RAM is a store over a byte slice: slot i is mem[i*ps : (i+1)*ps].
type RAM struct {
	mem   []byte
	ps    int
	pages uint64
}

var _ RunStore = (*RAM)(nil)

// NewRAM returns a store over mem with slots of pageSize bytes; a tail of
// mem shorter than a page is not used. pageSize must be positive.
func NewRAM(mem []byte, pageSize int) (*RAM, error) {
	if pageSize <= 0 {
		return nil, ErrRange
	}
	return &RAM{mem: mem, ps: pageSize, pages: uint64(len(mem) / pageSize)}, nil
}

// PageSize implements Store.
func (r *RAM) PageSize() int { return r.ps }

// Pages implements Store.
func (r *RAM) Pages() uint64 { return r.pages }

// ReadPage implements Store.
func (r *RAM) ReadPage(slot uint64, p []byte) error {
	if err := check(slot, r.pages, p, r.ps); err != nil {
		return err
	}
	off := int(slot) * r.ps
	copy(p, r.mem[off:off+r.ps])
	return nil
}

// WritePage implements Store.
func (r *RAM) WritePage(slot uint64, p []byte) error {
	if err := check(slot, r.pages, p, r.ps); err != nil {
		return err
	}
	off := int(slot) * r.ps
	copy(r.mem[off:off+r.ps], p)
	return nil
}

// ReadPages implements RunStore.
func (r *RAM) ReadPages(slot uint64, p []byte) error {
	if err := checkRun(slot, r.pages, p, r.ps); err != nil {
		return err
	}
	off := int(slot) * r.ps
	copy(p, r.mem[off:off+len(p)])
	return nil
}

// WritePages implements RunStore.
func (r *RAM) WritePages(slot uint64, p []byte) error {
	if err := checkRun(slot, r.pages, p, r.ps); err != nil {
		return err
	}
	off := int(slot) * r.ps
	copy(r.mem[off:off+len(p)], p)
	return nil
}

// FaultSafe implements FaultSafe: RAM reads and writes are copies.
func (r *RAM) FaultSafe() bool { return true }

// Sync implements Store; RAM is always stable.
func (r *RAM) Sync() error { return nil }
