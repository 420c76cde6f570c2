package vm

import (
	"sync/atomic"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
)

// downgradingPager write-locks the page it is being returned, from inside
// data_return, as a coherence pager does when another kernel asks to read
// the page while this one cleans it; it grants write again on data_unlock.
type downgradingPager struct {
	*rampager.Object
	ps      mo.Size
	unlocks atomic.Int32
}

func (d *downgradingPager) DataReturn(s mo.Seqno, ctl mo.Control, off mo.Offset, data []byte, dirty, kernelCopy bool) error {
	if err := d.Object.DataReturn(s, ctl, off, data, dirty, kernelCopy); err != nil {
		return err
	}
	return ctl.LockRequest(off, d.ps, mo.ReturnNone, false, mo.ProtWrite, false)
}

func (d *downgradingPager) DataUnlock(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	d.unlocks.Add(1)
	return ctl.LockRequest(off, n, mo.ReturnNone, false, mo.ProtNone, false)
}

// TestWriteLockWhileInTheLaundry: a lock_request that write-locks a page
// while the page is lent to the pager (data_return of a Sync) leaves no
// writable mapping: the next store faults and asks the pager with
// data_unlock instead of writing to a page the pager has locked.
func TestWriteLockWhileInTheLaundry(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16, windowMiB: 2})
	ram, err := rampager.New(rampager.Config{Size: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	d := &downgradingPager{Object: ram, ps: 4 << 10}
	r, err := e.k.Map(d, 64<<10, 0, 64<<10, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store(r.Addr(), []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(0, 4<<10); err != nil {
		t.Fatal(err)
	}
	e.check(t)
	if err := e.store(r.Addr(), []byte{2}); err != nil {
		t.Fatal(err)
	}
	if d.unlocks.Load() == 0 {
		t.Fatal("a store to a write-locked page went through without data_unlock")
	}
	e.check(t)
}
