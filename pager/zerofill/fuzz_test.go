package zerofill

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// FuzzZeroFillCalls makes every input the pager receives arbitrary: page
// sizes, offsets, sizes, data, and calls on dropped and terminated controls.
func FuzzZeroFillCalls(f *testing.F) {
	f.Add([]byte{0, 0, 1, 3, 0, 3, 2, 1, 1, 2, 1, 1, 6, 7, 0, 0})
	f.Add([]byte{0, 5, 1, 0, 0, 0x80, 0, 2, 3, 0x81, 9, 7, 0x80, 0x84})
	f.Add([]byte{0, 2, 0x87, 1, 0x82, 5, 1, 4, 4, 0, 0})
	f.Fuzz(func(t *testing.T, script []byte) {
		o, err := New(256 << 10)
		if err != nil {
			t.Fatal(err)
		}
		if err := motest.RunCallScript(motest.ScriptConfig{Obj: o, Size: 256 << 10}, script); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzZeroFillCreate(f *testing.F) {
	f.Add(uint64(64<<10), uint64(4<<10))
	f.Add(uint64(0), uint64(3000))
	f.Fuzz(func(t *testing.T, size, ps uint64) {
		ctl := motest.NewFrameControl(4<<10, nil)
		o, err := Pager{}.Create(ctl, mo.Size(size), mo.Size(ps))
		good := mo.CheckPageSize(mo.Size(ps)) == nil && size != 0 && size%ps == 0 && size <= 1<<40 && size%uint64(mo.MinPageSize) == 0
		if good != (err == nil) {
			t.Fatalf("Create(%#x, %#x) = %v", size, ps, err)
		}
		if err != nil {
			return
		}
		if err := o.DataRequest(1, ctl, 0, mo.Size(ps), mo.ProtRead); err != nil || ctl.Unavailable != 1 {
			t.Fatalf("first request: %v, %d unavailable", err, ctl.Unavailable)
		}
	})
}
