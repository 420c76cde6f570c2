package pagemem

import (
	"bytes"
	"testing"
)

// checkClearCopy clears and copies slices of many lengths and offsets in
// a larger buffer and checks every byte, the bytes around included.
func checkClearCopy(t *testing.T) {
	const size = 3*Block + 64
	for _, n := range []int{0, 1, 7, 128, Block - 4, Block, 2 * Block, 3 * Block} {
		for _, off := range []int{0, 1, 4, 8, 32} {
			if off+n > size {
				continue
			}
			buf := make([]byte, size)
			for i := range buf {
				buf[i] = byte(i*7 + 1)
			}
			want := bytes.Clone(buf)
			clear(want[off : off+n])
			Clear(buf[off : off+n])
			if !bytes.Equal(buf, want) {
				t.Fatalf("Clear of %d bytes at offset %d: wrong bytes", n, off)
			}
			src := make([]byte, size)
			for i := range src {
				src[i] = byte(i*13 + 5)
			}
			dst := make([]byte, size+7)
			want = bytes.Clone(dst)
			copy(want[off:off+n], src[off:off+n])
			if got := Copy(dst[off:off+n], src[off:off+n+min(3, size-off-n)]); got != n {
				t.Fatalf("Copy of %d bytes at offset %d returned %d", n, off, got)
			}
			if !bytes.Equal(dst, want) {
				t.Fatalf("Copy of %d bytes at offset %d: wrong bytes", n, off)
			}
		}
	}
}

func TestClearCopy(t *testing.T) { checkClearCopy(t) }

func TestAllocatesNothing(t *testing.T) {
	a, b := make([]byte, 4096), make([]byte, 4096)
	if n := testing.AllocsPerRun(100, func() { Clear(a); Copy(a, b) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
