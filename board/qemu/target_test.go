//go:build tamago

package qemu_test

import (
	"flag"
	"os"
	"testing"
	"unsafe"

	"github.com/tamach/tamach/board/qemu"
)

// TestArgumentsReachTheGuest checks that the runner's semihosting command
// line became os.Args: go test always passes -test.timeout and
// -test.paniconexit0, and the testing package has parsed them.
func TestArgumentsReachTheGuest(t *testing.T) {
	if len(os.Args) < 2 {
		t.Fatalf("os.Args = %q, want the program name and the test flags", os.Args)
	}
	f := flag.Lookup("test.paniconexit0")
	if f == nil || f.Value.String() != "true" {
		t.Fatalf("-test.paniconexit0 was not parsed from %q", os.Args)
	}
}

// TestFramePoolIsOrdinaryMemory writes and reads back every 64 KiB of the
// frame pool and the store region, which the board remapped as normal
// memory outside the Go runtime.
func TestFramePoolIsOrdinaryMemory(t *testing.T) {
	for _, r := range []struct{ start, size uint32 }{
		{qemu.Layout.FramePool.Start, qemu.Layout.FramePool.Size},
		{qemu.Layout.Store.Start, qemu.Layout.Store.Size},
	} {
		for a := r.start; a < r.start+r.size; a += 64 << 10 {
			p := (*uint32)(unsafe.Add(nil, a))
			*p = a ^ 0x5a5a5a5a
		}
		for a := r.start; a < r.start+r.size; a += 64 << 10 {
			p := (*uint32)(unsafe.Add(nil, a))
			if *p != a^0x5a5a5a5a {
				t.Fatalf("word at %#x reads %#x, want %#x", a, *p, a^0x5a5a5a5a)
			}
		}
	}
}
