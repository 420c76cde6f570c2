package store

import (
	"bytes"
	"errors"
	"testing"
)

// flaky is a BlockDevice that fails as told.
type flaky struct {
	MemDevice
	failRead, failWrite error
	calls               []uint64 // first block of each call
}

func (f *flaky) ReadBlocks(lba uint64, p []byte) error {
	f.calls = append(f.calls, lba)
	if f.failRead != nil {
		return f.failRead
	}
	return f.MemDevice.ReadBlocks(lba, p)
}

func (f *flaky) WriteBlocks(lba uint64, p []byte) error {
	f.calls = append(f.calls, lba)
	if f.failWrite != nil {
		return f.failWrite
	}
	return f.MemDevice.WriteBlocks(lba, p)
}

func TestDeviceRoundTrip(t *testing.T) {
	dev := MemDevice(make([]byte, 100*MemBlockSize))
	s, err := NewDevice(dev, 10, 8, ps)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s)
	// Slot i is blocks 10+8i .. 10+8i+7, and nothing outside them moved.
	if !bytes.Equal(dev[(10+8*3)*MemBlockSize:][:ps], page(3)) {
		t.Fatal("slot 3 is not at block 34")
	}
	for _, b := range dev[:10*MemBlockSize] {
		if b != 0 {
			t.Fatal("a write landed before the first block")
		}
	}
	if IsFaultSafe(s) {
		t.Fatal("a Device store says it is fault-safe")
	}
}

func TestNewDeviceChecksTheRange(t *testing.T) {
	dev := MemDevice(make([]byte, 100*MemBlockSize))
	if s, err := NewDevice(dev, 4, 0, ps); err != nil || s.Pages() != 12 {
		t.Fatalf("pages 0 (to the end): %v", err)
	}
	for _, c := range []struct {
		first, pages uint64
		ps           int
	}{{0, 13, ps}, {100, 1, ps}, {101, 0, ps}, {93, 1, ps}, {0, 1, 0}, {0, 1, -1}, {96, 0, ps}, {0, 1, MaxPageSize + 1}} {
		if _, err := NewDevice(dev, c.first, c.pages, c.ps); !errors.Is(err, ErrRange) {
			t.Errorf("first %d pages %d page size %d: %v", c.first, c.pages, c.ps, err)
		}
	}
}

// TestDeviceErrors: a device error is ErrIO and still the device's own
// error; a failed read clears the page; bad slots and buffers reach no
// device.
func TestDeviceErrors(t *testing.T) {
	devErr := errors.New("card on fire")
	f := &flaky{MemDevice: make([]byte, 64*MemBlockSize)}
	s, err := NewDevice(f, 0, 0, ps)
	if err != nil {
		t.Fatal(err)
	}
	p := page(1)
	f.failWrite = devErr
	if err := s.WritePage(1, p); !errors.Is(err, ErrIO) || !errors.Is(err, devErr) {
		t.Fatalf("failed write: %v", err)
	}
	f.failWrite = nil
	s.WritePage(1, p)
	f.failRead = devErr
	got := page(9)
	if err := s.ReadPage(1, got); !errors.Is(err, ErrIO) || !errors.Is(err, devErr) {
		t.Fatalf("failed read: %v", err)
	}
	if !bytes.Equal(got, make([]byte, ps)) {
		t.Fatal("a failed read left data in the page")
	}
	f.failRead = nil
	f.calls = nil
	if err := s.ReadPage(s.Pages(), got); !errors.Is(err, ErrRange) {
		t.Fatalf("slot beyond: %v", err)
	}
	if err := s.WritePage(0, got[:512]); !errors.Is(err, ErrRange) {
		t.Fatalf("short buffer: %v", err)
	}
	if len(f.calls) != 0 {
		t.Fatalf("device called for bad input: %v", f.calls)
	}
}

func TestDeviceAllocatesNothing(t *testing.T) {
	s, _ := NewDevice(MemDevice(make([]byte, 64*MemBlockSize)), 0, 0, ps)
	p := page(2)
	if n := testing.AllocsPerRun(100, func() {
		s.WritePage(3, p)
		s.ReadPage(3, p)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// TestDeviceSealedSlots: a page size that is not whole blocks (a sealed
// store's inner slot) takes whole blocks per slot, its tail zeros; the
// sealed store over it round-trips and detects a flipped bit on the
// device.
func TestDeviceSealedSlots(t *testing.T) {
	dev := MemDevice(make([]byte, 90*MemBlockSize))
	for i := range dev {
		dev[i] = 0xee
	}
	inner, err := NewDevice(dev, 0, 0, InnerPageSize(ps))
	if err != nil {
		t.Fatal(err)
	}
	if inner.Pages() != 10 { // 9 blocks a slot
		t.Fatalf("%d slots of %d bytes in 90 blocks, want 10", inner.Pages(), InnerPageSize(ps))
	}
	forCiphers(t, func(t *testing.T, c Cipher) {
		s, err := NewSealedRandomKeyCipher(inner, c)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(0); i < s.Pages(); i++ {
			if err := s.WritePage(i, page(byte(i))); err != nil {
				t.Fatal(err)
			}
		}
		got := make([]byte, ps)
		for i := uint64(0); i < s.Pages(); i++ {
			if err := s.ReadPage(i, got); err != nil || !bytes.Equal(got, page(byte(i))) {
				t.Fatalf("slot %d: %v", i, err)
			}
		}
		tail := dev[(9*3)*MemBlockSize+InnerPageSize(ps) : 9*4*MemBlockSize]
		if !bytes.Equal(tail, make([]byte, len(tail))) {
			t.Fatal("the tail of slot 3's last block is not zeros")
		}
		dev[9*5*MemBlockSize+100] ^= 1
		wantAuth(t, s, 5, "a bit flipped on the device")
	})
	if n := testing.AllocsPerRun(50, func() {
		inner.WritePage(1, make4124[:])
		inner.ReadPage(1, make4124[:])
	}); n != 0 {
		t.Fatalf("%v allocations through the scratch slot", n)
	}
}

var make4124 [4096 + Overhead]byte

// TestRuns: ReadPages and WritePages move a run of slots that reads back
// page by page and the other way round, on RAM, on a Device of whole
// blocks (one device call per run) and on a Device of sealed-size slots
// (one call per slot); a run past the end, empty or not whole pages is
// ErrRange and reaches no device.
func TestRuns(t *testing.T) {
	ram, _ := NewRAM(make([]byte, 8*ps), ps)
	f := &flaky{MemDevice: make([]byte, 128*MemBlockSize)}
	dev, _ := NewDevice(f, 0, 8, ps)
	odd := &flaky{MemDevice: make([]byte, 128*MemBlockSize)}
	sealedSize, _ := NewDevice(odd, 0, 8, InnerPageSize(ps))
	for _, c := range []struct {
		name  string
		s     RunStore
		calls *[]uint64
		per   int // device calls per run of 3
	}{{"RAM", ram, nil, 0}, {"Device", dev, &f.calls, 1}, {"DeviceSealedSize", sealedSize, &odd.calls, 3}} {
		t.Run(c.name, func(t *testing.T) {
			n := c.s.PageSize()
			run := make([]byte, 3*n)
			for i := range run {
				run[i] = byte(i*7 + i>>12)
			}
			if c.calls != nil {
				*c.calls = nil
			}
			if err := c.s.WritePages(5, run); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, n)
			for i := 0; i < 3; i++ {
				if err := c.s.ReadPage(uint64(5+i), got); err != nil || !bytes.Equal(got, run[i*n:(i+1)*n]) {
					t.Fatalf("slot %d: %v", 5+i, err)
				}
			}
			for i := 0; i < 3; i++ {
				c.s.WritePage(uint64(i), run[i*n:(i+1)*n])
			}
			if c.calls != nil {
				*c.calls = nil
			}
			back := make([]byte, 3*n)
			if err := c.s.ReadPages(0, back); err != nil || !bytes.Equal(back, run) {
				t.Fatalf("ReadPages: %v", err)
			}
			if c.calls != nil && len(*c.calls) != c.per {
				t.Fatalf("%d device calls for a run of 3", len(*c.calls))
			}
			if c.calls != nil {
				*c.calls = nil
			}
			for _, bad := range []struct {
				slot uint64
				p    []byte
			}{{6, back}, {8, back[:n]}, {0, nil}, {0, back[:n+1]}, {0, back[:n-1]}} {
				if err := c.s.ReadPages(bad.slot, bad.p); !errors.Is(err, ErrRange) {
					t.Errorf("ReadPages(%d, %d bytes): %v", bad.slot, len(bad.p), err)
				}
				if err := c.s.WritePages(bad.slot, bad.p); !errors.Is(err, ErrRange) {
					t.Errorf("WritePages(%d, %d bytes): %v", bad.slot, len(bad.p), err)
				}
			}
			if c.calls != nil && len(*c.calls) != 0 {
				t.Fatalf("device called for bad input: %v", *c.calls)
			}
		})
	}
}

// TestDeviceRunErrors: a failed run is ErrIO and the device's error; a
// failed ReadPages clears the whole buffer, for whole-block slots and
// for slots through the scratch slot.
func TestDeviceRunErrors(t *testing.T) {
	devErr := errors.New("card on fire")
	for _, size := range []int{ps, InnerPageSize(ps)} {
		f := &flaky{MemDevice: make([]byte, 128*MemBlockSize)}
		s, _ := NewDevice(f, 0, 8, size)
		run := bytes.Repeat([]byte{7}, 3*size)
		f.failWrite = devErr
		if err := s.WritePages(1, run); !errors.Is(err, ErrIO) || !errors.Is(err, devErr) {
			t.Fatalf("page size %d: failed run write: %v", size, err)
		}
		f.failWrite = nil
		if err := s.WritePages(1, run); err != nil {
			t.Fatal(err)
		}
		f.failRead = devErr
		got := bytes.Repeat([]byte{9}, 3*size)
		if err := s.ReadPages(1, got); !errors.Is(err, ErrIO) || !errors.Is(err, devErr) {
			t.Fatalf("page size %d: failed run read: %v", size, err)
		}
		if !bytes.Equal(got, make([]byte, 3*size)) {
			t.Fatalf("page size %d: a failed run read left data in the buffer", size)
		}
	}
}

func TestRunsAllocateNothing(t *testing.T) {
	ram, _ := NewRAM(make([]byte, 8*ps), ps)
	dev, _ := NewDevice(MemDevice(make([]byte, 128*MemBlockSize)), 0, 8, ps)
	p := make([]byte, 4*ps)
	for _, s := range []RunStore{ram, dev} {
		if n := testing.AllocsPerRun(100, func() {
			if s.WritePages(2, p) != nil || s.ReadPages(2, p) != nil {
				t.Fatal("run failed")
			}
		}); n != 0 {
			t.Errorf("%T: %v allocations per run write and read", s, n)
		}
	}
}
