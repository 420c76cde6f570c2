package defaultpager

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// FuzzCallScript makes every input an object made by ObjectCreate receives
// arbitrary (motest.RunCallScript); the first byte chooses the store and
// the asynchronous mode.
func FuzzCallScript(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 3, 0, 3, 2, 1, 1, 2, 1, 1, 6, 7, 0, 0})
	f.Add([]byte{5, 0, 5, 1, 0, 0, 0x80, 0, 2, 3, 0x81, 9, 7, 0x80, 0x84})
	f.Add([]byte{2, 0, 2, 0x87, 1, 0x82, 5, 1, 4, 4, 0, 0, 5, 0, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) == 0 {
			return
		}
		kind := storeKinds[int(script[0]>>1)%len(storeKinds)]
		p, _ := newPager(t, Config{Async: script[0]&1 != 0}, kind, 2*testSize/ps)
		obj, err := p.ObjectCreate(testSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := motest.RunCallScript(motest.ScriptConfig{Obj: obj, Size: testSize}, script[1:]); err != nil {
			t.Fatal(err)
		}
		p.Quiesce()
		checkInv(t, p)
	})
}

// FuzzBackingStores makes the store management calls arbitrary: whatever
// the sequence, every page written reads back, a refused delete changes
// nothing, and the slot accounting holds.
func FuzzBackingStores(f *testing.F) {
	f.Add([]byte{0, 4, 0, 2, 1, 0, 2, 1, 3, 1})
	f.Add([]byte{2, 9, 0, 1, 1, 1, 3, 0, 3, 2})
	f.Add([]byte{0, 0x44, 1, 1, 1, 2, 1, 3, 0, 0x11, 2, 1, 1, 9})
	f.Fuzz(func(t *testing.T, script []byte) {
		p, _ := New(Config{})
		a := newAnon(t, p, 64*ps)
		written := map[int]byte{}
		var ids []mo.BackingStoreID
		for len(script) >= 2 {
			op, arg := script[0], script[1]
			script = script[2:]
			switch op % 4 {
			case 0:
				id, err := p.BackingStoreCreate(int(arg%3), mo.Size(1<<(arg>>4%4))*ps)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
				p.AddRAM(id, uint64(arg%5)+1)
			case 1:
				page := int(arg % 64)
				err := a.put(page, fill(arg))
				if err == nil {
					written[page] = arg
				} else if mo.ReturnOf(err) != mo.KernResourceShortage {
					t.Fatalf("page-out: %v", err)
				}
			case 2, 3:
				id := mo.BackingStoreID(arg % 8)
				before := p.Info()
				err := p.BackingStoreDelete(id)
				switch mo.ReturnOf(err) {
				case mo.KernSuccess:
				case mo.KernInvalidArgument:
					if p.Info() != before {
						t.Fatalf("refused delete of %d changed the pager", id)
					}
				default:
					t.Fatalf("delete: %v", err)
				}
			}
			checkInv(t, p)
		}
		for page, b := range written {
			a.want(page, fill(b))
		}
	})
}

// FuzzDefaultObjectCalls makes every input an object made by Create
// receives arbitrary: offsets, sizes, data lengths, a stranger's control,
// calls after terminate. Malformed calls are refused with a Mach code and
// answered with nothing; well-formed ones round-trip the data.
func FuzzDefaultObjectCalls(f *testing.F) {
	f.Add([]byte{1, 0, 1, 0, 1, 2, 0, 0x81, 3, 3, 0, 0})
	f.Add([]byte{1, 0x90, 1, 2, 5, 1, 4, 0, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, script []byte) {
		const size = 64 << 10
		p, _ := newPager(t, Config{}, "RAM", 8)
		ctl := motest.NewFrameControl(ps, nil)
		obj, err := p.Create(ctl, size, ps)
		if err != nil {
			t.Fatal(err)
		}
		motest.RunDefaultObjectScript(t, obj, ctl, motest.NewFrameControl(ps, nil), ps, size, script, func() { checkInv(t, p) })
	})
}
