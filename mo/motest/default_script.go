package motest

import (
	"errors"
	"testing"

	"github.com/tamach/tamach/mo"
)

// RunDefaultObjectScript turns a fuzz input into calls on obj, a default
// pager's object of size bytes made by Create with ctl, with pages of
// pageSize (4 KiB): three bytes a call (operation, offset, size). The
// operations are data_request, data_return, data_initialize, a
// data_request from stranger (a control that never mapped the object),
// terminate and synchronize. Offsets, sizes and data lengths are arbitrary,
// calls may come after terminate. Malformed calls must be refused with a
// Mach code and answered with nothing, a stranger never served, calls
// after terminate refused with KERN_TERMINATED, and well-formed calls must
// round-trip the data. check, if not nil, runs after each call (the
// pager's own invariants).
func RunDefaultObjectScript(t testing.TB, obj mo.DefaultObject, ctl, stranger *FrameControl, pageSize, size mo.Size, script []byte, check func()) {
	t.Helper()
	ps := pageSize
	model := map[mo.Offset]byte{}
	s := mo.Seqno(1)
	terminated := false
	for len(script) >= 3 {
		op, a, b := script[0]%6, script[1], script[2]
		script = script[3:]
		off := mo.Offset(a&0x7f) << 12
		if a&0x80 != 0 {
			off = mo.Offset(a) << 7
		}
		n := mo.Size(b%3) << 12
		if b&0x80 != 0 {
			n = mo.Size(b) << 5
		}
		good := !terminated && mo.CheckRange(off, n, ps, size) == nil
		answers := ctl.Supplies + ctl.Unavailable + ctl.Errors
		var err error
		switch op {
		case 0:
			err = obj.DataRequest(s, ctl, off, n, mo.ProtRead)
			if err == nil {
				if got := ctl.Supplies + ctl.Unavailable - answers; got != int(n/ps) {
					t.Fatalf("request %#x+%#x: %d answers", off, n, got)
				}
				if v, ok := model[off]; ok && n == ps && ctl.Frame[0] != v {
					t.Fatalf("page %#x reads %#x, want %#x", off, ctl.Frame[0], v)
				}
			}
		case 1, 2:
			if n > 8*ps {
				continue
			}
			data := make([]byte, n)
			for i := range data {
				data[i] = b
			}
			if op == 1 {
				err = obj.DataReturn(s, ctl, off, data, true, false)
			} else {
				err = obj.DataInitialize(s, ctl, off, data)
			}
			if err == nil {
				for q := off; q < off+mo.Offset(n); q += mo.Offset(ps) {
					model[q] = b
				}
			} else if mo.ReturnOf(err) == mo.KernResourceShortage {
				good = false
			}
		case 3:
			err = obj.DataRequest(s, stranger, off, n, mo.ProtRead)
			if err == nil || stranger.Supplies+stranger.Unavailable+stranger.Errors != 0 {
				t.Fatal("a stranger's control was served")
			}
			continue // a stranger's call takes no seqno of ctl
		case 4:
			if terminated {
				continue
			}
			err = obj.Terminate(s, ctl)
			terminated, good = true, true
		case 5:
			err = obj.Synchronize(s, ctl, off, n, mo.SyncSynchronous)
		}
		s++
		var code mo.Return
		switch {
		case good && err != nil:
			t.Fatalf("op %d at %#x+%#x refused: %v", op, off, n, err)
		case !good && err == nil:
			t.Fatalf("op %d at %#x+%#x (terminated %v) accepted", op, off, n, terminated)
		case err != nil && !errors.As(err, &code):
			t.Fatalf("refused without a Mach code: %v", err)
		}
		if !good && ctl.Supplies+ctl.Unavailable+ctl.Errors != answers {
			t.Fatalf("a refused call was answered")
		}
		if terminated && err != nil && op != 4 && code != mo.KernTerminated {
			t.Fatalf("a call after terminate: got %v, want KERN_TERMINATED", err)
		}
		if check != nil {
			check()
		}
	}
}
