package defaultpager

import (
	"errors"
	"testing"

	"github.com/tamach/tamach/board/usdhc"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/store"
)

// failingCard is a block device in memory that fails its next reads or
// writes with the SD driver's errors.
type failingCard struct {
	store.MemDevice
	readErr, writeErr error
}

func (c *failingCard) ReadBlocks(lba uint64, p []byte) error {
	if err := c.readErr; err != nil {
		c.readErr = nil
		return err
	}
	return c.MemDevice.ReadBlocks(lba, p)
}

func (c *failingCard) WriteBlocks(lba uint64, p []byte) error {
	if err := c.writeErr; err != nil {
		c.writeErr = nil
		return err
	}
	return c.MemDevice.WriteBlocks(lba, p)
}

// TestSDErrorsReachTheKernel: over a store on a card, a read that fails
// (a data CRC error) answers the page with data_error and the next read
// gets the data; a write that times out refuses the page-out with
// KERN_FAILURE wrapping store.ErrIO and the driver's error, and the page
// goes out again later.
func TestSDErrorsReachTheKernel(t *testing.T) {
	card := &failingCard{MemDevice: make([]byte, 64*4096)}
	dev, err := store.NewDevice(card, 8, 0, ps)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := New(Config{})
	t.Cleanup(p.Close)
	id, _ := p.BackingStoreCreate(0, 0)
	if err := p.AddSegment(id, dev); err != nil {
		t.Fatal(err)
	}
	a := newAnon(t, p, 16*ps)
	if err := a.put(2, fill(2)); err != nil {
		t.Fatal(err)
	}
	card.readErr = &usdhc.Error{Op: "read", Cmd: 18, Int: 1 << 21, Err: usdhc.ErrCRC}
	if _, how := a.get(2); how != "error" {
		t.Fatalf("a failed card read answered %s", how)
	}
	a.want(2, fill(2))
	card.writeErr = &usdhc.Error{Op: "write", Cmd: 13, Err: usdhc.ErrTimeout, Detail: "card stays busy"}
	err = a.put(3, fill(3))
	if mo.ReturnOf(err) != mo.KernFailure || !errors.Is(err, store.ErrIO) || !errors.Is(err, usdhc.ErrTimeout) {
		t.Fatalf("a failed card write: %v", err)
	}
	if err := a.put(3, fill(3)); err != nil {
		t.Fatal(err)
	}
	a.want(3, fill(3))
	checkInv(t, p)
}
