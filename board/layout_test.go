package board_test

import (
	"strings"
	"testing"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/board/usbarmory"
)

func TestBoardLayoutsAreAlignedAndDisjoint(t *testing.T) {
	for _, l := range []board.Layout{qemu.Layout, usbarmory.Layout} {
		if err := l.Check(); err != nil {
			t.Errorf("%s: %v", l.Board, err)
		}
		if l.Frames() == 0 {
			t.Errorf("%s: empty frame pool", l.Board)
		}
	}
}

func TestQEMULayoutFitsMemoryOption(t *testing.T) {
	if got := qemu.Layout.DDR.Size >> 20; got != qemu.MemoryMiB {
		t.Fatalf("layout DDR is %d MiB, QEMU is started with %d MiB", got, qemu.MemoryMiB)
	}
}

func TestLayoutCheckRejects(t *testing.T) {
	good := qemu.Layout
	cases := []struct {
		name   string
		change func(*board.Layout)
		want   string
	}{
		{"unaligned pool", func(l *board.Layout) { l.FramePool.Start += 4096 }, "not 1 MiB aligned"},
		{"odd size", func(l *board.Layout) { l.Store.Size -= 4096 }, "not 1 MiB aligned"},
		{"empty pool", func(l *board.Layout) { l.FramePool.Size = 0 }, "empty"},
		{"pool overlaps runtime", func(l *board.Layout) { l.FramePool.Start = l.Runtime.Start + 1<<20 }, "overlaps"},
		{"store overlaps pool", func(l *board.Layout) { l.Store.Start = l.FramePool.Start }, "overlaps"},
		{"store outside ddr", func(l *board.Layout) { l.Store.Size += 1 << 20 }, "outside DDR"},
		{"window in ddr", func(l *board.Layout) { l.Window.Start = l.DDR.Start }, "window"},
		{"window wraps", func(l *board.Layout) { l.Window = board.Region{Start: 0xfff00000, Size: 2 << 20} }, "wraps"},
		{"l1 outside runtime", func(l *board.Layout) { l.L1Table = l.FramePool.Start }, "first-level table"},
		{"l1 unaligned", func(l *board.Layout) { l.L1Table += 0x1000 }, "first-level table"},
	}
	for _, c := range cases {
		l := good
		c.change(&l)
		err := l.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check() = %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestLayoutPrintNamesEveryRegion(t *testing.T) {
	var b strings.Builder
	qemu.Layout.Print(&b)
	for _, w := range []string{"runtime", "frame pool", "8192 frames", "store", "window", "0xc0000000"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("Print output lacks %q:\n%s", w, b.String())
		}
	}
}
