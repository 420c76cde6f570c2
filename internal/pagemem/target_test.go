//go:build tamago

package pagemem

import (
	"runtime"
	"testing"
	"unsafe"

	_ "github.com/tamach/tamach/board/qemu" // the board the tests boot on
)

// On the target Clear and Copy take the assembly for whole blocks at
// word-aligned addresses: the same checks, and that it is taken.
func TestTargetClearCopy(t *testing.T) {
	if runtime.GOARCH == "arm" && !fast {
		t.Fatal("no 32 double registers: the page fast path is off")
	}
	checkClearCopy(t)
}

// TestTargetUpperRegistersOnly: Go's floating-point registers keep their
// values across Clear and Copy.
func TestTargetUpperRegistersOnly(t *testing.T) {
	x, y := 1.5, -2.25
	a, b := make([]byte, 4096), make([]byte, 4096)
	for i := range b {
		b[i] = byte(i)
	}
	for range 3 {
		Clear(a)
		Copy(a, b)
		x, y = x*2, y*2
	}
	if x != 12 || y != -18 || a[4095] != 255 {
		t.Fatalf("x %v y %v a[4095] %d", x, y, a[4095])
	}
}

// page returns a page-aligned 4 KiB slice of buf (8 KiB).
func page(buf []byte) []byte {
	off := -int(uintptr(unsafe.Pointer(&buf[0]))) & 4095
	return buf[off : off+4096]
}

// Benchmarks: instructions per 4 KiB page under QEMU -icount (make bench),
// beside Go's copy, the reference.
func BenchmarkTargetPageClear(b *testing.B) {
	p := page(make([]byte, 8192))
	for i := 0; i < b.N; i++ {
		Clear(p)
	}
}

func BenchmarkTargetPageCopy(b *testing.B) {
	dst, src := page(make([]byte, 8192)), page(make([]byte, 8192))
	for i := 0; i < b.N; i++ {
		Copy(dst, src)
	}
}

// BenchmarkTargetCopy4K is the reference: Go's copy of 4 KiB.
func BenchmarkTargetCopy4K(b *testing.B) {
	dst, src := page(make([]byte, 8192)), page(make([]byte, 8192))
	for i := 0; i < b.N; i++ {
		copy(dst, src)
	}
}

// BenchmarkTargetClear4K: Go's clear of 4 KiB.
func BenchmarkTargetClear4K(b *testing.B) {
	p := page(make([]byte, 8192))
	for i := 0; i < b.N; i++ {
		clear(p)
	}
}
