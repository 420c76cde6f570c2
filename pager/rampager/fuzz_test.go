package rampager

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// FuzzRAMPagerCalls makes every input the pager receives arbitrary; the
// first byte chooses precious and asynchronous modes.
func FuzzRAMPagerCalls(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 3, 0, 3, 2, 1, 1, 2, 1, 1, 6, 7, 0, 0})
	f.Add([]byte{3, 0, 5, 1, 0, 0, 0x80, 0, 2, 3, 0x81, 9, 7, 0x80, 0x84})
	f.Add([]byte{2, 0, 2, 0x87, 1, 0x82, 5, 1, 4, 4, 0, 0, 5, 0, 0})
	init := initial()
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) == 0 {
			return
		}
		o, err := New(Config{Size: testSize, Initial: init, Precious: script[0]&1 != 0, Async: script[0]&2 != 0})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if err := motest.RunCallScript(motest.ScriptConfig{Obj: o, Size: testSize, Initial: pattern}, script[1:]); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzBackingStores makes the store management calls arbitrary: whatever
// the sequence, every page written reads back and the free counts add up.
func FuzzBackingStores(f *testing.F) {
	f.Add([]byte{0, 4, 0, 2, 1, 0, 2, 1, 3, 1})
	f.Add([]byte{2, 9, 0, 1, 1, 1, 3, 0, 3, 2})
	f.Fuzz(func(t *testing.T, script []byte) {
		d, _ := NewDefault(4 << 10)
		ctl := motest.NewFrameControl(4<<10, nil)
		obj, err := d.Create(ctl, 64<<10, 4<<10)
		if err != nil {
			t.Fatal(err)
		}
		written := map[mo.Offset]byte{}
		var ids []mo.BackingStoreID
		s := mo.Seqno(1)
		page := make([]byte, 4<<10)
		for len(script) >= 2 {
			op, arg := script[0], script[1]
			script = script[2:]
			switch op % 4 {
			case 0:
				id, err := d.BackingStoreCreate(int(arg%3), 0)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
				d.AddSegment(id, uint64(arg%5)+1)
			case 1:
				off := mo.Offset(arg%16) << 12
				for i := range page {
					page[i] = arg
				}
				err := obj.DataInitialize(s, ctl, off, page)
				s++
				if err == nil {
					written[off] = arg
				} else if mo.ReturnOf(err) != mo.KernResourceShortage {
					t.Fatalf("data_initialize: %v", err)
				}
			case 2, 3:
				id := mo.BackingStoreID(arg % 8)
				before := map[mo.BackingStoreID]mo.BackingStoreInfo{}
				for _, i := range ids {
					before[i], _ = d.BackingStoreInfo(i)
				}
				err := d.BackingStoreDelete(id)
				switch mo.ReturnOf(err) {
				case mo.KernSuccess:
				case mo.KernInvalidArgument:
					for _, i := range ids {
						if after, _ := d.BackingStoreInfo(i); after != before[i] {
							t.Fatalf("refused delete of %d changed store %d", id, i)
						}
					}
				default:
					t.Fatalf("delete: %v", err)
				}
			}
		}
		for off, b := range written {
			if err := obj.DataRequest(s, ctl, off, 4<<10, mo.ProtRead); err != nil {
				t.Fatal(err)
			}
			s++
			if ctl.Frame[0] != b || ctl.Frame[4095] != b {
				t.Fatalf("page %#x reads %#x, want %#x", off, ctl.Frame[0], b)
			}
		}
	})
}

// FuzzDefaultObjectCalls makes every input a default object receives
// arbitrary: offsets, sizes, data lengths, seqnos in order, a stranger's
// control, and calls after terminate. Malformed calls are refused with a
// Mach code and answered with nothing; well-formed ones round-trip the data.
func FuzzDefaultObjectCalls(f *testing.F) {
	f.Add([]byte{1, 0, 1, 0, 1, 2, 0, 0x81, 3, 3, 0, 0})
	f.Add([]byte{1, 0x90, 1, 2, 5, 1, 4, 0, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, script []byte) {
		const ps, size = 4 << 10, 64 << 10
		d, _ := NewDefault(ps)
		id, _ := d.BackingStoreCreate(0, 0)
		d.AddSegment(id, 8)
		ctl := motest.NewFrameControl(ps, nil)
		obj, err := d.Create(ctl, size, ps)
		if err != nil {
			t.Fatal(err)
		}
		motest.RunDefaultObjectScript(t, obj, ctl, motest.NewFrameControl(ps, nil), ps, size, script, nil)
	})
}
