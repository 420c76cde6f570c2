package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const ps = 4096

func page(b byte) []byte {
	p := make([]byte, ps)
	for i := range p {
		p[i] = b + byte(i*7)
	}
	return p
}

func newFile(t testing.TB, pageSize int, pages uint64) *File {
	f, err := os.Create(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s, err := CreateFile(f, pageSize, pages)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSealed(t testing.TB, c Cipher, pages int) (*Sealed, *RAM) {
	ram, _ := NewRAM(make([]byte, pages*InnerPageSize(ps)), InnerPageSize(ps))
	s, err := NewSealedRandomKeyCipher(ram, c)
	if err != nil {
		t.Fatal(err)
	}
	if s.Cipher() != c {
		t.Fatalf("cipher %v, want %v", s.Cipher(), c)
	}
	return s, ram
}

var ciphers = []Cipher{AESGCM, ChaCha20Poly1305}

// forCiphers runs fn for each cipher of Sealed.
func forCiphers(t *testing.T, fn func(t *testing.T, c Cipher)) {
	for _, c := range ciphers {
		t.Run(c.String(), func(t *testing.T) { fn(t, c) })
	}
}

// roundTrip checks that every slot reads back what was written, and that
// bad slots and buffers are ErrRange.
func roundTrip(t *testing.T, s Store) {
	t.Helper()
	if s.PageSize() != ps || s.Pages() != 8 {
		t.Fatalf("page size %d pages %d", s.PageSize(), s.Pages())
	}
	for i := uint64(0); i < 8; i++ {
		if err := s.WritePage(i, page(byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, ps)
	for i := uint64(0); i < 8; i++ {
		if err := s.ReadPage(i, got); err != nil || !bytes.Equal(got, page(byte(i))) {
			t.Fatalf("slot %d: %v", i, err)
		}
	}
	if err := s.ReadPage(8, got); !errors.Is(err, ErrRange) {
		t.Fatalf("read beyond the store: %v", err)
	}
	if err := s.WritePage(0, got[:100]); !errors.Is(err, ErrRange) {
		t.Fatalf("short buffer: %v", err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestRAMRoundTrip(t *testing.T) {
	s, err := NewRAM(make([]byte, 8*ps+100), ps)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s)
	if _, err := NewRAM(nil, 0); err == nil {
		t.Fatal("page size 0 accepted")
	}
}

func TestFileRoundTripAndReopen(t *testing.T) {
	s := newFile(t, ps, 8)
	roundTrip(t, s)
	r, err := OpenFile(s.f)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, ps)
	if err := r.ReadPage(5, got); err != nil || !bytes.Equal(got, page(5)) {
		t.Fatalf("reopened store: %v", err)
	}
	// A damaged header is refused.
	s.f.WriteAt([]byte{'X'}, 3)
	if _, err := OpenFile(s.f); !errors.Is(err, ErrFormat) {
		t.Fatalf("damaged header: %v", err)
	}
	// A truncated file is refused.
	var h [HeaderSize]byte
	Header{PageSize: ps, Pages: 8}.Encode(h[:])
	s.f.WriteAt(h[:], 0)
	s.f.Truncate(HeaderSize + 3*ps)
	if _, err := OpenFile(s.f); !errors.Is(err, ErrFormat) {
		t.Fatalf("truncated file: %v", err)
	}
	if _, err := CreateFile(s.f, 1000, 8); !errors.Is(err, ErrFormat) {
		t.Fatalf("page size 1000: %v", err)
	}
}

func TestSealedRoundTrip(t *testing.T) {
	forCiphers(t, func(t *testing.T, c Cipher) {
		s, _ := newSealed(t, c, 8)
		roundTrip(t, s)
		if _, err := NewSealedCipher(s, c, []byte("short")); err == nil {
			t.Fatal("bad key accepted")
		}
		if _, err := NewSealedCipher(s, Cipher(7), make([]byte, 32)); err == nil {
			t.Fatal("unknown cipher accepted")
		}
	})
}

func TestSealedStoresNoPlaintext(t *testing.T) {
	forCiphers(t, func(t *testing.T, c Cipher) {
		s, ram := newSealed(t, c, 2)
		p := bytes.Repeat([]byte("secret!!"), ps/8)
		s.WritePage(1, p)
		if bytes.Contains(ram.mem, []byte("secret!!")) {
			t.Fatal("plaintext reached the inner store")
		}
	})
}

func wantAuth(t *testing.T, s *Sealed, slot uint64, why string) {
	t.Helper()
	got := page(0x55)
	if err := s.ReadPage(slot, got); !errors.Is(err, ErrAuth) {
		t.Fatalf("%s: got %v, want ErrAuth", why, err)
	}
	if !bytes.Equal(got, make([]byte, ps)) {
		t.Fatalf("%s: buffer not cleared", why)
	}
}

func TestSealedFlipOneBitIsAuthError(t *testing.T) {
	forCiphers(t, func(t *testing.T, c Cipher) {
		for _, at := range []int{0, NonceSize, NonceSize + 1000, InnerPageSize(ps) - 1} {
			s, ram := newSealed(t, c, 4)
			s.WritePage(2, page(2))
			ram.mem[2*InnerPageSize(ps)+at] ^= 0x10
			wantAuth(t, s, 2, "one bit flipped")
		}
	})
}

func TestSealedSwapTwoPagesIsAuthError(t *testing.T) {
	forCiphers(t, func(t *testing.T, c Cipher) {
		s, ram := newSealed(t, c, 4)
		s.WritePage(0, page(0))
		s.WritePage(1, page(1))
		n := InnerPageSize(ps)
		a := append([]byte(nil), ram.mem[:n]...)
		copy(ram.mem[:n], ram.mem[n:2*n])
		copy(ram.mem[n:2*n], a)
		wantAuth(t, s, 0, "swapped page")
		wantAuth(t, s, 1, "swapped page")
	})
}

func TestSealedReplayOlderVersionIsAuthError(t *testing.T) {
	forCiphers(t, func(t *testing.T, c Cipher) {
		s, ram := newSealed(t, c, 4)
		n := InnerPageSize(ps)
		s.WritePage(3, page(1))
		old := append([]byte(nil), ram.mem[3*n:4*n]...)
		s.WritePage(3, page(2))
		if s.Version(3) != 2 {
			t.Fatalf("version %d, want 2", s.Version(3))
		}
		copy(ram.mem[3*n:], old)
		wantAuth(t, s, 3, "replayed page")
	})
}

func TestSealedUnwrittenSlotIsAuthError(t *testing.T) {
	forCiphers(t, func(t *testing.T, c Cipher) {
		s, _ := newSealed(t, c, 4)
		wantAuth(t, s, 1, "slot never written")
	})
}

func TestSealedFailedWriteNeverReadsOldData(t *testing.T) {
	forCiphers(t, func(t *testing.T, c Cipher) {
		ram, _ := NewRAM(make([]byte, 4*InnerPageSize(ps)), InnerPageSize(ps))
		f := NewFaulty(ram)
		s, _ := NewSealedRandomKeyCipher(f, c)
		s.WritePage(0, page(1))
		s.WritePage(1, page(1))
		f.FailWrites(1)
		if err := s.WritePage(0, page(2)); !errors.Is(err, ErrIO) {
			t.Fatalf("failed write: %v", err)
		}
		wantAuth(t, s, 0, "slot whose write failed")
		f.ShortWrites(1)
		if err := s.WritePage(1, page(2)); !errors.Is(err, ErrShortWrite) {
			t.Fatalf("short write: %v", err)
		}
		wantAuth(t, s, 1, "slot whose write was short")
	})
}

func TestFaultyOutcomes(t *testing.T) {
	ram, _ := NewRAM(make([]byte, 4*ps), ps)
	f := NewFaulty(ram)
	f.WritePage(0, page(1))
	got := make([]byte, ps)
	f.FailReads(1)
	if err := f.ReadPage(0, got); !errors.Is(err, ErrIO) {
		t.Fatalf("failed read: %v", err)
	}
	if err := f.ReadPage(0, got); err != nil || !bytes.Equal(got, page(1)) {
		t.Fatalf("read after the failure: %v", err)
	}
	f.FailWrites(1)
	if err := f.WritePage(0, page(2)); !errors.Is(err, ErrIO) {
		t.Fatalf("failed write: %v", err)
	}
	if f.ReadPage(0, got); !bytes.Equal(got, page(1)) {
		t.Fatal("a failed write changed the slot")
	}
	f.ShortWrites(1)
	if err := f.WritePage(0, page(3)); !errors.Is(err, ErrShortWrite) {
		t.Fatalf("short write: %v", err)
	}
	if f.ReadPage(0, got); !bytes.Equal(got[:ps/2], page(3)[:ps/2]) || !bytes.Equal(got[ps/2:], page(1)[ps/2:]) {
		t.Fatal("short write did not write exactly half")
	}
	f.SetFull(true)
	if err := f.WritePage(1, page(3)); !errors.Is(err, ErrFull) {
		t.Fatalf("full store: %v", err)
	}
	f.SetFull(false)
	f.FailSlot(2)
	if err := f.ReadPage(2, got); !errors.Is(err, ErrIO) {
		t.Fatalf("bad slot: %v", err)
	}
	f.FailSlot(^uint64(0))
	f.Random(7, 500)
	fails := 0
	for i := 0; i < 1000; i++ {
		if f.ReadPage(1, got) != nil {
			fails++
		}
	}
	if fails < 400 || fails > 600 {
		t.Fatalf("random schedule at 50%%: %d of 1000 failed", fails)
	}
	if c := f.Counts(); c.FailedReads < 400 {
		t.Fatalf("counts %+v", c)
	}
}

func TestReadWriteAllocateNothing(t *testing.T) {
	ram, _ := NewRAM(make([]byte, 4*ps), ps)
	sealed, _ := newSealed(t, AESGCM, 4)
	chacha, _ := newSealed(t, ChaCha20Poly1305, 4)
	file := newFile(t, ps, 4)
	p := page(1)
	for _, s := range []Store{ram, sealed, chacha, file, NewFaulty(ram)} {
		if n := testing.AllocsPerRun(100, func() {
			if s.WritePage(1, p) != nil || s.ReadPage(1, p) != nil {
				t.Fatal("round trip failed")
			}
		}); n != 0 {
			t.Errorf("%T: %v allocations per write and read", s, n)
		}
	}
}

// FuzzDecodeHeader: any bytes decode to a header that encodes back to
// the same bytes, or to ErrFormat.
func FuzzDecodeHeader(f *testing.F) {
	var b [HeaderSize]byte
	Header{PageSize: 4096, Pages: 100}.Encode(b[:])
	f.Add(b[:])
	f.Add(b[:40])
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := DecodeHeader(in)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		var out [HeaderSize]byte
		h.Encode(out[:])
		if !bytes.Equal(out[:], in[:HeaderSize]) {
			t.Fatalf("%+v does not encode back to its input", h)
		}
	})
}

// FuzzSealedSlot: whatever the device holds in a slot, a read gives the
// page last written there or ErrAuth, never other data.
func FuzzSealedSlot(f *testing.F) {
	f.Add(uint16(0), byte(1), []byte{})
	f.Add(uint16(NonceSize+5), byte(0x80), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, at uint16, xor byte, over []byte) {
		const small = 512
		ram, _ := NewRAM(make([]byte, 2*InnerPageSize(small)), InnerPageSize(small))
		s, _ := NewSealedCipher(ram, ciphers[int(xor)%len(ciphers)], make([]byte, 32))
		want := bytes.Repeat([]byte{0xa5}, small)
		s.WritePage(0, want)
		s.WritePage(1, want)
		n := InnerPageSize(small)
		orig := append([]byte(nil), ram.mem[:n]...)
		ram.mem[int(at)%n] ^= xor
		copy(ram.mem[int(at)%n:n], over)
		changed := !bytes.Equal(orig, ram.mem[:n])
		got := make([]byte, small)
		err := s.ReadPage(0, got)
		switch {
		case err != nil && !errors.Is(err, ErrAuth):
			t.Fatalf("error %v is not ErrAuth", err)
		case err == nil && changed:
			t.Fatal("a damaged slot read without error")
		case err == nil && !bytes.Equal(got, want):
			t.Fatal("an intact slot read as other data")
		case err != nil && !changed:
			t.Fatalf("an intact slot failed: %v", err)
		}
	})
}
