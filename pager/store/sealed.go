package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"sync"
)

// Sealed page format. Each page of a Sealed store occupies one slot of the
// inner store, Overhead bytes larger than the page:
//
//	[ nonce, 12 bytes ][ ciphertext, PageSize bytes ][ GCM tag, 16 bytes ]
//
// The page is sealed with AES-GCM (AES-128, -192 or -256 by the key's
// length). The nonce is a per-store counter (little endian in the first 8
// bytes, then 4 zero bytes) taken once per write, so no two writes under
// one key share a nonce. The additional data, authenticated but not
// stored, is
//
//	[ slot, 8 bytes LE ][ version, 8 bytes LE ]
//
// where version is the slot's write count, kept in RAM by the Sealed value
// and never on the device. A page that was altered fails the tag; a page
// moved to another slot fails because the slot is bound; an older page
// written back to its own slot fails because its version is not the
// current one. Each case is ErrAuth, and the caller's buffer is cleared.
//
// The nonce is stored though the reader does not need to derive it: it
// keeps the format valid for keys that outlive the Sealed value (a future
// persistent store), where a counter in RAM would restart.
const (
	NonceSize = 12
	TagSize   = 16
	Overhead  = NonceSize + TagSize
)

// Sealed encrypts and authenticates the pages of an inner store. Its page
// size is the inner store's minus Overhead. It keeps 8 bytes per slot in
// RAM (the versions) and one scratch slot, both allocated by NewSealed, so
// reads and writes allocate nothing.
type Sealed struct {
	inner Store
	ps    int

	mu       sync.Mutex
	aead     cipher.AEAD // protected by mu (GCM keeps no state, but see buf)
	versions []uint64    // protected by mu: per slot, 0 = never written
	counter  uint64      // protected by mu: nonces taken
	buf      []byte      // protected by mu: one inner slot
	ad       [16]byte    // protected by mu
}

var _ Store = (*Sealed)(nil)

// NewSealed wraps inner with key (16, 24 or 32 bytes). The inner store's
// page size must exceed Overhead.
func NewSealed(inner Store, key []byte) (*Sealed, error) {
	if inner.PageSize() <= Overhead {
		return nil, ErrRange
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealed{inner: inner, ps: inner.PageSize() - Overhead, aead: aead,
		versions: make([]uint64, inner.Pages()), buf: make([]byte, inner.PageSize())}, nil
}

// NewSealedRandomKey wraps inner with a fresh random AES-256 key, which
// is what a paging store wants: nothing in it outlives the Sealed value.
func NewSealedRandomKey(inner Store) (*Sealed, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	return NewSealed(inner, key[:])
}

// InnerPageSize is the inner slot size that gives Sealed pages of ps bytes.
func InnerPageSize(ps int) int { return ps + Overhead }

// PageSize implements Store.
func (s *Sealed) PageSize() int { return s.ps }

// Pages implements Store.
func (s *Sealed) Pages() uint64 { return uint64(len(s.versions)) }

// Version returns a slot's write count (0: never written), for tests.
func (s *Sealed) Version(slot uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slot >= uint64(len(s.versions)) {
		return 0
	}
	return s.versions[slot]
}

func (s *Sealed) adLocked(slot, version uint64) []byte {
	binary.LittleEndian.PutUint64(s.ad[0:], slot)
	binary.LittleEndian.PutUint64(s.ad[8:], version)
	return s.ad[:]
}

// ReadPage implements Store: ErrAuth for a page that is not the one last
// written to slot, or a slot never written.
func (s *Sealed) ReadPage(slot uint64, p []byte) error {
	if err := check(slot, s.Pages(), p, s.ps); err != nil {
		return err
	}
	// No defer: a fault-safe pager calls this from the fault handler,
	// on the system stack (see FaultSafe).
	s.mu.Lock()
	err := s.readLocked(slot, p)
	s.mu.Unlock()
	return err
}

// readLocked is ReadPage. Preconditions: s.mu is held.
func (s *Sealed) readLocked(slot uint64, p []byte) error {
	v := s.versions[slot]
	if v == 0 {
		clear(p)
		return ErrAuth
	}
	if err := s.inner.ReadPage(slot, s.buf); err != nil {
		clear(p)
		return err
	}
	if _, err := s.aead.Open(p[:0], s.buf[:NonceSize], s.buf[NonceSize:], s.adLocked(slot, v)); err != nil {
		clear(p)
		return ErrAuth
	}
	return nil
}

// WritePage implements Store. The slot's version advances before the
// write, so after a failed write the slot reads as ErrAuth, never as the
// page it held before.
func (s *Sealed) WritePage(slot uint64, p []byte) error {
	if err := check(slot, s.Pages(), p, s.ps); err != nil {
		return err
	}
	s.mu.Lock()
	s.counter++
	s.versions[slot]++
	nonce := s.buf[:NonceSize]
	binary.LittleEndian.PutUint64(nonce, s.counter)
	clear(nonce[8:])
	s.aead.Seal(s.buf[NonceSize:NonceSize], nonce, p, s.adLocked(slot, s.versions[slot]))
	err := s.inner.WritePage(slot, s.buf)
	s.mu.Unlock()
	return err
}

// FaultSafe implements FaultSafe: a Sealed store is fault-safe when its
// inner store is. Its mutex is uncontended there as long as one pager,
// which calls it only with its own lock held, is its only user.
func (s *Sealed) FaultSafe() bool { return IsFaultSafe(s.inner) }

// Sync implements Store.
func (s *Sealed) Sync() error { return s.inner.Sync() }
