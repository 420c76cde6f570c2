package usdhc

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// fast are timeouts for the host model, where a wait that is not over at
// once never will be.
var fast = Timeouts{Reset: 5 * time.Millisecond, Command: 5 * time.Millisecond,
	PowerUp: 20 * time.Millisecond, Read: 5 * time.Millisecond, Write: 5 * time.Millisecond}

const fakeBlocks = 1 << 16 // 32 MiB

func initFake(t *testing.T, f *fake, width int) *Card {
	t.Helper()
	c, err := Init(f, Config{Width: width, Timeouts: fast})
	if err != nil {
		t.Fatalf("Init: %v (%v)", err, f)
	}
	return c
}

func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = seed + byte(i*13+i>>9)
	}
	return p
}

// TestInitHighCapacityCard: the identification sequence of SD Physical
// Layer 4.2 in order, high capacity asked for and taken, the capacity
// from a version 2 CSD, the 4-bit bus; CMD_XFR_TYP always written with a
// zero low half; the card left in the transfer state.
func TestInitHighCapacityCard(t *testing.T) {
	f := newFake(fakeBlocks)
	f.powerUpPolls = 3
	c := initFake(t, f, 4)
	in := c.Info()
	if !in.HighCapacity || !in.Version2 || in.Blocks != fakeBlocks || in.RCA != 0x1234 || in.Width != 4 {
		t.Fatalf("info %+v", in)
	}
	want := []int{0, 8, 55, 41, 55, 41, 55, 41, 55, 41, 2, 3, 9, 7, 55, 6}
	if !slices.Equal(f.cmds, want) {
		t.Errorf("commands %v, want %v", f.cmds, want)
	}
	if !f.hcAsked || f.width != 4 || f.prot&protDTWMask != protDTW4 || f.state != stateTran {
		t.Errorf("hc asked %v, card width %d, PROT_CTRL %#x, state %d", f.hcAsked, f.width, f.prot, f.state)
	}
	if f.lowBits != 0 {
		t.Errorf("%d CMD_XFR_TYP writes with a non-zero low half", f.lowBits)
	}
	if c.Blocks() != fakeBlocks || c.BlockSize() != BlockSize {
		t.Errorf("Blocks %d BlockSize %d", c.Blocks(), c.BlockSize())
	}
}

// TestInitStandardCapacityCard: a version 1 card (no answer to CMD8) is
// not asked for high capacity, its CSD version 1 gives the capacity, it
// gets CMD16, and its blocks are addressed in bytes.
func TestInitStandardCapacityCard(t *testing.T) {
	f := newFake(1 << 12)
	f.v1, f.hc = true, false
	c := initFake(t, f, 1)
	in := c.Info()
	if in.HighCapacity || in.Version2 || in.Blocks != 1<<12 || in.Width != 1 {
		t.Fatalf("info %+v", in)
	}
	if f.hcAsked || !slices.Contains(f.cmds, 16) || slices.Contains(f.cmds, 6) {
		t.Errorf("hc asked %v, commands %v", f.hcAsked, f.cmds)
	}
	p := pattern(2*BlockSize, 9)
	if err := c.WriteBlocks(7, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.blocks[7], p[:BlockSize]) || !bytes.Equal(f.blocks[8], p[BlockSize:]) {
		t.Fatal("blocks 7 and 8 of a byte-addressed card do not hold what was written")
	}
}

// TestReadWriteBlocks: single and multiple block transfers reach the
// card's blocks and read back; one command per transfer (CMD24, CMD25
// with the auto CMD12, then CMD13 until the card is ready; CMD17, CMD18).
func TestReadWriteBlocks(t *testing.T) {
	f := newFake(fakeBlocks)
	c := initFake(t, f, 4)
	for _, n := range []int{1, 8, 64} {
		f.cmds = nil
		lba := uint64(1000 + n)
		w := pattern(n*BlockSize, byte(n))
		if err := c.WriteBlocks(lba, w); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if !bytes.Equal(f.blocks[lba+uint64(i)], w[i*BlockSize:(i+1)*BlockSize]) {
				t.Fatalf("%d blocks: block %d not on the card", n, i)
			}
		}
		r := make([]byte, len(w))
		if err := c.ReadBlocks(lba, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r, w) {
			t.Fatalf("%d blocks read back differ", n)
		}
		want := []int{24, 13, 17}
		if n > 1 {
			want = []int{25, 12, 13, 18, 12}
		}
		if !slices.Equal(f.cmds, want) {
			t.Errorf("%d blocks: commands %v, want %v", n, f.cmds, want)
		}
	}
	// The last block of the card, and a transfer longer than one
	// command's block count.
	last := make([]byte, BlockSize)
	if err := c.WriteBlocks(fakeBlocks-1, pattern(BlockSize, 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.ReadBlocks(fakeBlocks-1, last); err != nil || !bytes.Equal(last, pattern(BlockSize, 1)) {
		t.Fatalf("last block: %v", err)
	}
	f.cmds = nil
	big := make([]byte, (MaxBlocksPerCommand+1)*BlockSize)
	if err := c.ReadBlocks(0, big); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.cmds, []int{18, 12, 17}) {
		t.Errorf("%d blocks: commands %v", MaxBlocksPerCommand+1, f.cmds)
	}
}

// TestTransfersAllocateNothing: ReadBlocks and WriteBlocks allocate
// nothing.
func TestTransfersAllocateNothing(t *testing.T) {
	f := newFake(fakeBlocks)
	c := initFake(t, f, 4)
	p := pattern(8*BlockSize, 3)
	if err := c.WriteBlocks(0, p); err != nil {
		t.Fatal(err)
	}
	f.quiet = true
	if n := testing.AllocsPerRun(50, func() {
		if err := c.WriteBlocks(0, p); err != nil {
			t.Fatal(err)
		}
		if err := c.ReadBlocks(0, p); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per write and read", n)
	}
}

func wantErr(t *testing.T, err, target error, names ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *Error", err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %q", err, n)
		}
	}
}

// TestNoCard: a slot without a card answers nothing: ErrNoCard.
func TestNoCard(t *testing.T) {
	f := newFake(fakeBlocks)
	f.present = false
	_, err := Init(f, Config{Timeouts: fast})
	wantErr(t, err, ErrNoCard, "CMD55")
}

// TestInitFailures: a controller that never completes a command, a
// clock that never becomes stable, a card that stays in power-up, a
// wrong CMD8 echo, a bad bus width.
func TestInitFailures(t *testing.T) {
	f := newFake(fakeBlocks)
	f.stuck = true
	_, err := Init(f, Config{Timeouts: fast})
	wantErr(t, err, ErrTimeout, "CMD0", "INT_STATUS CC")

	f = newFake(fakeBlocks)
	f.neverReady = true
	_, err = Init(f, Config{Timeouts: fast})
	wantErr(t, err, ErrTimeout, "CMD41", "power-up")

	f = newFake(fakeBlocks)
	f.badEcho = true
	_, err = Init(f, Config{Timeouts: fast})
	wantErr(t, err, ErrUnusable, "CMD8")

	f = newFake(fakeBlocks)
	f.failCmd[2] = intCCE
	_, err = Init(f, Config{Timeouts: fast})
	wantErr(t, err, ErrCRC, "CMD2", "CCE command CRC error")

	_, err = Init(newFake(fakeBlocks), Config{Width: 8, Timeouts: fast})
	wantErr(t, err, ErrUnusable, "bus width")
}

// TestClockStableOnlyWithLowBits: the model reports SDSTB only while
// SYS_CTRL bit 0 is set, as QEMU does; the driver always writes it.
func TestClockStableOnlyWithLowBits(t *testing.T) {
	f := newFake(fakeBlocks)
	initFake(t, f, 4)
	if f.sys&sysLow4 != sysLow4 || f.Read(regPresState)&presSDSTB == 0 {
		t.Fatalf("SYS_CTRL %#x", f.sys)
	}
	if got := f.sys >> sysSDCLKF & 0xff; got != opSDCLKFS {
		t.Errorf("SDCLKFS %#x after init, want the transfer clock %#x", got, opSDCLKFS)
	}
}

// TestTransferErrors: every failure of a transfer is an error naming its
// cause, and the next transfer works (the lines were reset).
func TestTransferErrors(t *testing.T) {
	f := newFake(fakeBlocks)
	c := initFake(t, f, 4)
	p := make([]byte, 8*BlockSize)
	cases := []struct {
		name   string
		set    func()
		write  bool
		target error
		names  []string
	}{
		{"command CRC", func() { f.failCmd[18] = intCCE }, false, ErrCRC, []string{"CMD18", "CCE"}},
		{"command timeout", func() { f.failCmd[25] = intCTOE }, true, ErrTimeout, []string{"CMD25", "CTOE"}},
		{"data CRC", func() { f.failData, f.failAfter = intDCE, f.words+300 }, false, ErrCRC, []string{"DCE data CRC error"}},
		{"data timeout", func() { f.failData, f.failAfter = intDTOE, f.words+10 }, true, ErrTimeout, []string{"DTOE"}},
		{"end bit", func() { f.failData, f.failAfter = intDEBE, f.words }, false, ErrCRC, []string{"DEBE"}},
		{"card busy", func() { f.busyForever = true }, true, ErrTimeout, []string{"CMD13", "busy"}},
		{"stuck", func() { f.stuck = true }, false, ErrTimeout, []string{"CMD18"}},
	}
	for _, tc := range cases {
		tc.set()
		var err error
		if tc.write {
			err = c.WriteBlocks(16, p)
		} else {
			err = c.ReadBlocks(16, p)
		}
		if err == nil {
			t.Fatalf("%s: no error", tc.name)
		}
		wantErr(t, err, tc.target, tc.names...)
		f.stuck, f.busyForever, f.failData = false, false, 0
		if f.state == statePrg {
			f.state = stateTran
		}
		w := pattern(len(p), 5)
		if err := c.WriteBlocks(32, w); err != nil {
			t.Fatalf("after %s: %v", tc.name, err)
		}
		if err := c.ReadBlocks(32, p); err != nil || !bytes.Equal(p, w) {
			t.Fatalf("after %s: read %v", tc.name, err)
		}
	}
}

// TestBeyondTheCard: blocks past the capacity are refused before any
// command; a card smaller than its CSD says answers OUT_OF_RANGE, which
// is ErrRange too; a buffer of part of a block is refused.
func TestBeyondTheCard(t *testing.T) {
	f := newFake(fakeBlocks)
	c := initFake(t, f, 4)
	f.cmds = nil
	p := make([]byte, 2*BlockSize)
	wantErr(t, c.ReadBlocks(fakeBlocks-1, p), ErrRange)
	wantErr(t, c.WriteBlocks(fakeBlocks, p[:BlockSize]), ErrRange)
	wantErr(t, c.ReadBlocks(1<<63, p), ErrRange)
	wantErr(t, c.ReadBlocks(0, p[:100]), ErrRange)
	if len(f.cmds) != 0 {
		t.Errorf("commands %v sent for transfers outside the card", f.cmds)
	}
	f.realBlocks = 100
	wantErr(t, c.WriteBlocks(99, p), ErrRange, "OUT_OF_RANGE")
	if err := c.WriteBlocks(98, p); err != nil {
		t.Fatalf("after OUT_OF_RANGE: %v", err)
	}
}

// TestCSDCapacity: version 1 and 2 CSDs, and ones this driver refuses.
func TestCSDCapacity(t *testing.T) {
	f := newFake(8 << 20)
	if b, ok := csdBlocks(f.csd()); !ok || b != 8<<20 {
		t.Errorf("version 2: %d %v", b, ok)
	}
	f.hc, f.csdBlocks = false, 1<<20
	if b, ok := csdBlocks(f.csd()); !ok || b != 1<<20 {
		t.Errorf("version 1: %d %v", b, ok)
	}
	bad := f.csd()
	bad[3] |= 3 << 22 // CSD_STRUCTURE 3, at response bits 119:118
	if _, ok := csdBlocks(bad); ok {
		t.Error("CSD structure 3 accepted")
	}
	if _, ok := csdBlocks([4]uint32{}); ok {
		t.Error("an empty version 1 CSD accepted")
	}
}

// TestWordPort: a register file with a WordPort moves the data in runs of
// one watermark; a buffer that is not word aligned goes word by word.
func TestWordPort(t *testing.T) {
	w := &wordFake{fake: newFake(fakeBlocks)}
	c, err := Init(w, Config{Timeouts: fast})
	if err != nil {
		t.Fatal(err)
	}
	p := pattern(8*BlockSize, 4)
	if err := c.WriteBlocks(40, p); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(p))
	if err := c.ReadBlocks(40, got); err != nil || !bytes.Equal(got, p) {
		t.Fatalf("read back: %v", err)
	}
	if want := 2 * len(p) / (watermarkWords * 4); w.runs != want {
		t.Errorf("%d runs, want %d", w.runs, want)
	}
	w.runs = 0
	odd := make([]byte, len(p)+1)[1:]
	if err := c.ReadBlocks(40, odd); err != nil || !bytes.Equal(odd, p) {
		t.Fatalf("unaligned read back: %v", err)
	}
	if w.runs != 0 {
		t.Errorf("%d runs through the word port for an unaligned buffer", w.runs)
	}
}
