//go:build tamago

package usdhc

import (
	"bytes"
	"errors"
	"testing"

	_ "github.com/tamach/tamach/board/qemu"
)

// On-target tests: QEMU's uSDHC model with the runner's SD card (a sparse
// 4 GiB image, qemu-run -sd) in USDHC1 and none in USDHC2.

func openCard(t testing.TB) *Card {
	t.Helper()
	c, err := Open(USDHC1, Config{})
	if err != nil {
		t.Fatalf("USDHC1: %v (the runner gives the guest a card unless -sd 0)", err)
	}
	return c
}

// TestTargetCardReadWrite: the card comes up as a 4 GiB high-capacity
// card on a 4-bit bus; single and multiple block writes read back,
// including the card's last blocks; blocks beyond it are ErrRange.
func TestTargetCardReadWrite(t *testing.T) {
	c := openCard(t)
	in := c.Info()
	if !in.HighCapacity || in.Blocks != 4<<30/BlockSize || in.Width != 4 {
		t.Fatalf("card: %+v", in)
	}
	for _, n := range []int{1, 8, 64, 300} {
		for _, lba := range []uint64{uint64(n) * 1000, in.Blocks - uint64(n)} {
			w := make([]byte, n*BlockSize)
			for i := range w {
				w[i] = byte(i*7) + byte(n) + byte(lba)
			}
			if err := c.WriteBlocks(lba, w); err != nil {
				t.Fatalf("%d blocks at %d: %v", n, lba, err)
			}
			got := make([]byte, len(w))
			if err := c.ReadBlocks(lba, got); err != nil {
				t.Fatalf("%d blocks at %d: %v", n, lba, err)
			}
			if !bytes.Equal(got, w) {
				t.Fatalf("%d blocks at %d read back differ", n, lba)
			}
		}
	}
	p := make([]byte, 2*BlockSize)
	if err := c.ReadBlocks(in.Blocks-1, p); !errors.Is(err, ErrRange) {
		t.Fatalf("read beyond the card: %v", err)
	}
	if err := c.WriteBlocks(in.Blocks, p[:BlockSize]); !errors.Is(err, ErrRange) {
		t.Fatalf("write beyond the card: %v", err)
	}
}

// TestTargetNoCard: USDHC2 has no card: ErrNoCard, promptly.
func TestTargetNoCard(t *testing.T) {
	if _, err := Open(USDHC2, Config{}); !errors.Is(err, ErrNoCard) {
		t.Fatalf("USDHC2 without a card: %v", err)
	}
}

// Benchmarks (instructions per operation under qemu-run -icount): one
// 4 KiB read or write, as a pager page-in or page-out makes.

func benchBlocks(b *testing.B, write bool) {
	c := openCard(b)
	p := make([]byte, 4096)
	if err := c.WriteBlocks(0, p); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lba := uint64(i%256) * 8
		var err error
		if write {
			err = c.WriteBlocks(lba, p)
		} else {
			err = c.ReadBlocks(lba, p)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTargetSDRead4K: ReadBlocks of 8 blocks (CMD18, auto CMD12).
func BenchmarkTargetSDRead4K(b *testing.B) { benchBlocks(b, false) }

// BenchmarkTargetSDWrite4K: WriteBlocks of 8 blocks (CMD25, auto CMD12,
// CMD13 until ready).
func BenchmarkTargetSDWrite4K(b *testing.B) { benchBlocks(b, true) }
