package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// Sealed page format. Each page of a Sealed store occupies one slot of the
// inner store, Overhead bytes larger than the page:
//
//	[ nonce, 12 bytes ][ ciphertext, PageSize bytes ][ GCM tag, 16 bytes ]
//
// The page is sealed with an AEAD of 12-byte nonces and 16-byte tags, the
// store's Cipher: AES-GCM (AES-128, -192 or -256 by the key's length;
// the default) or ChaCha20-Poly1305 (RFC 8439, a 32-byte key). The nonce is a per-store counter (little endian in the first 8
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
//
// # Which cipher, and why not the SoC's DCP
//
// The Cortex-A7 of the i.MX6UL has no AES instructions, so AES-GCM runs
// in Go's constant-time software AES and GHASH: about 830,000
// instructions to seal or open a 4 KiB page on the target (make bench,
// BenchmarkTargetPageInSealed). ChaCha20-Poly1305 needs only 32-bit
// additions, rotations and multiplications and is several times cheaper
// there (BenchmarkTargetPageInSealedChaCha); it is the better choice on
// the target, AES-GCM on hosts with AES instructions.
//
// The SoC's crypto engine, DCP (TamaGo's soc/nxp/dcp), offers only
// AES-128-CBC and SHA-256, no AEAD; it works by DMA from buffers it must
// be given in its own memory, one operation at a time, and QEMU's
// mcimx6ul-evk does not model it (its registers at 0x02280000 are
// unassigned: a read aborts). A DCP sealing (encrypt-then-MAC with
// AES-CBC and HMAC-SHA256) could therefore be tested only against a
// software twin, never on the engine here, so the store does not offer
// one: its ciphers are the two software AEADs, both tested on the host
// and on the target.
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
	inner  Store
	ps     int
	cipher Cipher

	mu       sync.Mutex
	aead     cipher.AEAD // protected by mu (neither AEAD keeps state, but see buf)
	versions []uint64    // protected by mu: per slot, 0 = never written
	counter  uint64      // protected by mu: nonces taken
	buf      []byte      // protected by mu: one inner slot
	ad       [16]byte    // protected by mu
}

var _ Store = (*Sealed)(nil)

// Cipher is the AEAD that seals a Sealed store's pages.
type Cipher int

const (
	// AESGCM is AES-GCM (crypto/aes, crypto/cipher): keys of 16, 24 or
	// 32 bytes.
	AESGCM Cipher = iota
	// ChaCha20Poly1305 is ChaCha20-Poly1305 (RFC 8439,
	// golang.org/x/crypto/chacha20poly1305): keys of 32 bytes.
	ChaCha20Poly1305
)

func (c Cipher) String() string {
	switch c {
	case AESGCM:
		return "AES-GCM"
	case ChaCha20Poly1305:
		return "ChaCha20-Poly1305"
	}
	return fmt.Sprintf("Cipher(%d)", int(c))
}

// newAEAD makes c's AEAD with key.
func (c Cipher) newAEAD(key []byte) (cipher.AEAD, error) {
	switch c {
	case AESGCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	case ChaCha20Poly1305:
		return chacha20poly1305.New(key)
	}
	return nil, fmt.Errorf("store: unknown cipher %v", c)
}

// NewSealed wraps inner with AES-GCM and key (16, 24 or 32 bytes). The
// inner store's page size must exceed Overhead.
func NewSealed(inner Store, key []byte) (*Sealed, error) {
	return NewSealedCipher(inner, AESGCM, key)
}

// NewSealedCipher wraps inner with the cipher c and key.
func NewSealedCipher(inner Store, c Cipher, key []byte) (*Sealed, error) {
	if inner.PageSize() <= Overhead {
		return nil, ErrRange
	}
	aead, err := c.newAEAD(key)
	if err != nil {
		return nil, err
	}
	if aead.NonceSize() != NonceSize || aead.Overhead() != TagSize {
		return nil, fmt.Errorf("store: %v has %d-byte nonces and %d-byte tags, not %d and %d",
			c, aead.NonceSize(), aead.Overhead(), NonceSize, TagSize)
	}
	return &Sealed{inner: inner, ps: inner.PageSize() - Overhead, cipher: c, aead: aead,
		versions: make([]uint64, inner.Pages()), buf: make([]byte, inner.PageSize())}, nil
}

// NewSealedRandomKey wraps inner with AES-GCM and a fresh random 256-bit
// key, which is what a paging store wants: nothing in it outlives the
// Sealed value.
func NewSealedRandomKey(inner Store) (*Sealed, error) {
	return NewSealedRandomKeyCipher(inner, AESGCM)
}

// NewSealedRandomKeyCipher wraps inner with the cipher c and a fresh
// random 256-bit key.
func NewSealedRandomKeyCipher(inner Store, c Cipher) (*Sealed, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, err
	}
	return NewSealedCipher(inner, c, key[:])
}

// Cipher returns the store's cipher.
func (s *Sealed) Cipher() Cipher { return s.cipher }

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
