package image

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/mo/motest/modelkernel"
	"github.com/tamach/tamach/pager/defaultpager"
	"github.com/tamach/tamach/pager/store"
)

const (
	testSize  = 256 << 10
	imageSize = 200<<10 + 123 // the rest of the object reads as zeros
	ps        = 4 << 10
)

func pattern(off mo.Offset) byte {
	if off >= imageSize {
		return 0
	}
	return byte(off*5 + off>>12)
}

func testImage() []byte {
	b := make([]byte, imageSize)
	for i := range b {
		b[i] = pattern(mo.Offset(i))
	}
	return b
}

// newOverlay is a synchronous default pager with a RAM store (or a
// faulty one).
func newOverlay(t testing.TB, st store.Store) *defaultpager.Pager {
	t.Helper()
	p, err := defaultpager.New(defaultpager.Config{})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := p.BackingStoreCreate(0, 0)
	if st == nil {
		st, _ = store.NewRAM(make([]byte, 2*testSize), ps)
	}
	if err := p.AddSegment(id, st); err != nil {
		t.Fatal(err)
	}
	return p
}

func newObject(t testing.TB, img []byte, st store.Store) (*Object, *defaultpager.Pager) {
	t.Helper()
	ov := newOverlay(t, st)
	o, err := New(Config{Image: img, Size: testSize, Overlay: ov})
	if err != nil {
		t.Fatal(err)
	}
	return o, ov
}

func TestPagerScenarios(t *testing.T) {
	img := testImage()
	motest.TestPager(t, motest.PagerConfig{
		New: func() (mo.Object, error) {
			o, _ := newObject(t, img, nil)
			return o, nil
		},
		Size:    testSize,
		Initial: pattern,
		Destroy: func(obj mo.Object, reason error) error { return obj.(*Object).Destroy(reason) },
	})
}

// recorder is a control that keeps the last supply and lock request.
type recorder struct {
	motest.FrameControl
	lock               mo.Prot
	lockReqs           int
	lastLock           mo.Prot
	lastFlush          bool
	destroyed, readied bool
}

func (r *recorder) DataSupply(off mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	r.lock = lock
	return r.FrameControl.DataSupply(off, data, lock, precious, reply)
}
func (r *recorder) LockRequest(off mo.Offset, n mo.Size, ret mo.ReturnPolicy, flush bool, lock mo.Prot, reply bool) error {
	r.lockReqs++
	r.lastLock, r.lastFlush = lock, flush
	return nil
}
func (r *recorder) Ready(mo.Attributes) error { r.readied = true; return nil }

func newRecorder() *recorder { return &recorder{FrameControl: *motest.NewFrameControl(ps, nil)} }

// TestCopyOnWrite: image pages come with a write lock; data_unlock lifts
// it; a returned dirty page goes to the overlay and comes back unlocked;
// the image is never written.
func TestCopyOnWrite(t *testing.T) {
	img := testImage()
	orig := append([]byte(nil), img...)
	o, ov := newObject(t, img, nil)
	c := newRecorder()
	if err := o.Init(0, c, ps); err != nil || !c.readied {
		t.Fatalf("init: %v", err)
	}
	if err := o.DataRequest(1, c, 8*ps, ps, mo.ProtRead); err != nil {
		t.Fatal(err)
	}
	if c.lock != mo.ProtWrite || !bytes.Equal(c.Frame, img[8*ps:9*ps]) {
		t.Fatalf("image page supplied with lock %v", c.lock)
	}
	if err := o.DataUnlock(2, c, 8*ps, ps, mo.ProtWrite); err != nil || c.lockReqs != 1 || c.lastLock != mo.ProtNone || c.lastFlush {
		t.Fatalf("unlock: %v, %d lock requests, lock %v flush %v", err, c.lockReqs, c.lastLock, c.lastFlush)
	}
	written := bytes.Repeat([]byte{0x5a}, ps)
	if err := o.DataReturn(3, c, 8*ps, written, true, false); err != nil {
		t.Fatal(err)
	}
	if !o.Modified(8*ps) || o.Modified(9*ps) {
		t.Fatal("modified bits wrong")
	}
	if err := o.DataRequest(4, c, 8*ps, ps, mo.ProtRead); err != nil || c.lock != mo.ProtNone || !bytes.Equal(c.Frame, written) {
		t.Fatalf("modified page: %v, lock %v", err, c.lock)
	}
	if !bytes.Equal(img, orig) {
		t.Fatal("the image was written")
	}
	if ov.Info().FreeSpace != ov.Info().TotalSpace-ps {
		t.Fatalf("overlay holds %+v, want one page", ov.Info())
	}
	// A clean return changes nothing.
	if err := o.DataReturn(5, c, 9*ps, written, false, false); err != nil || o.Modified(9*ps) {
		t.Fatalf("clean return: %v", err)
	}
	// Beyond the image: zeros, write locked.
	if err := o.DataRequest(6, c, testSize-ps, ps, mo.ProtRead); err != nil || c.lock != mo.ProtWrite || !bytes.Equal(c.Frame, make([]byte, ps)) {
		t.Fatalf("page beyond the image: %v", err)
	}
	// Destroy and terminate free the overlay.
	o.Destroy(mo.KernAborted)
	if err := o.Terminate(7, c); err != nil {
		t.Fatal(err)
	}
	if in := ov.Info(); in.FreeSpace != in.TotalSpace || len(ov.Objects()) != 0 {
		t.Fatalf("overlay after terminate: %+v", in)
	}
}

// TestOverlayFailures: a page-out the overlay cannot store is refused
// (the kernel keeps it dirty); a modified page the overlay cannot read is
// data_error.
func TestOverlayFailures(t *testing.T) {
	ram, _ := store.NewRAM(make([]byte, 2*testSize), ps)
	f := store.NewFaulty(ram)
	o, _ := newObject(t, testImage(), f)
	c := newRecorder()
	o.Init(0, c, ps)
	f.FailWrites(1)
	if err := o.DataReturn(1, c, 0, bytes.Repeat([]byte{1}, ps), true, false); err == nil || o.Modified(0) {
		t.Fatalf("failed page-out: %v", err)
	}
	if err := o.DataReturn(2, c, 0, bytes.Repeat([]byte{1}, ps), true, false); err != nil {
		t.Fatal(err)
	}
	f.FailReads(1)
	if err := o.DataRequest(3, c, 0, ps, mo.ProtRead); err != nil || c.Errors != 1 {
		t.Fatalf("failed read: %v, %d errors", err, c.Errors)
	}
}

// TestNewRefusesBadConfig: no overlay, an image larger than the object,
// an odd page size.
func TestNewRefusesBadConfig(t *testing.T) {
	ov := newOverlay(t, nil)
	for _, c := range []Config{
		{Image: testImage()},
		{Image: testImage(), Size: 4 << 10, Overlay: ov},
		{Image: testImage(), PageSize: 3000, Overlay: ov},
	} {
		if _, err := New(c); !errors.Is(err, mo.KernInvalidArgument) {
			t.Fatalf("config %+v: %v", c.Size, err)
		}
	}
	o, err := New(Config{Image: testImage(), Overlay: ov})
	if err != nil || o.cfg.Size != 204<<10 {
		t.Fatalf("size from the image: %v", err)
	}
}

// TestTwoKernelsCopyOnWrite: two model kernels (4 KiB and 64 KiB pages)
// map one image object; a write in one is seen by the other, through
// data_unlock's flush of the other's copy, and the image is unchanged.
func TestTwoKernelsCopyOnWrite(t *testing.T) {
	img := testImage()
	orig := append([]byte(nil), img...)
	o, _ := newObject(t, img, nil)
	small, _ := modelkernel.New(4<<10, 1, nil)
	large, _ := modelkernel.New(64<<10, 2, nil)
	rs, err := small.Map(o, testSize)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := large.Map(o, testSize)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 64)
	for _, r := range []*modelkernel.Region{rs, rl} {
		if _, err := r.ReadAt(got, 70000); err != nil || !bytes.Equal(got, img[70000:70064]) {
			t.Fatalf("first read: %v", err)
		}
	}
	msg := []byte("written by the 4 KiB kernel")
	if _, err := rs.WriteAt(msg, 70000); err != nil {
		t.Fatal(err)
	}
	small.Quiesce()
	large.Quiesce()
	if _, err := rl.ReadAt(got[:len(msg)], 70000); err != nil || !bytes.Equal(got[:len(msg)], msg) {
		t.Fatalf("the other kernel reads %q, %v", got[:len(msg)], err)
	}
	if _, err := rs.ReadAt(got[:len(msg)], 70000); err != nil || !bytes.Equal(got[:len(msg)], msg) {
		t.Fatalf("the writer reads %q, %v", got[:len(msg)], err)
	}
	if !bytes.Equal(img, orig) {
		t.Fatal("the image was written")
	}
	if !o.Modified(70000 &^ (ps - 1)) {
		t.Fatal("the written page is not in the overlay")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.Unlocks == 0 || o.Flushes == 0 {
		t.Fatalf("%d unlocks, %d flushes: the write did not go through data_unlock", o.Unlocks, o.Flushes)
	}
}

// FuzzImageCalls makes every input the image pager receives arbitrary.
func FuzzImageCalls(f *testing.F) {
	f.Add([]byte{0, 0, 1, 3, 0, 3, 2, 1, 1, 2, 1, 1, 6, 7, 0, 0})
	f.Add([]byte{0, 5, 1, 0, 0, 0x80, 0, 2, 3, 0x81, 9, 7, 0x80, 0x84, 4, 1, 0})
	img := testImage()
	f.Fuzz(func(t *testing.T, script []byte) {
		o, _ := newObject(t, img, nil)
		if err := motest.RunCallScript(motest.ScriptConfig{Obj: o, Size: testSize, Initial: pattern}, script); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDataRequestAllocatesNothing: the image path and the overlay path.
func TestDataRequestAllocatesNothing(t *testing.T) {
	o, _ := newObject(t, testImage(), nil)
	c := newRecorder()
	o.Init(0, c, ps)
	o.DataReturn(1, c, 0, bytes.Repeat([]byte{1}, ps), true, false)
	s := mo.Seqno(2)
	i := 0
	if n := testing.AllocsPerRun(200, func() {
		o.DataRequest(s, c, mo.Offset(i%2*ps), ps, mo.ProtRead)
		s++
		i++
	}); n != 0 {
		t.Errorf("%v allocations per data_request", n)
	}
	if c.Supplies < 200 {
		t.Fatalf("%d supplies", c.Supplies)
	}
}
