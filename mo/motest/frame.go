package motest

import (
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
)

// FrameControl is the smallest kernel side there is: an mo.Control that
// copies supplied data into one preallocated frame, as a kernel copies into
// the frame of a faulting page, and counts answers. It allocates nothing,
// records into Trace when set, and checks nothing: it is for measuring a
// pager's data path (allocation tests and benchmarks), not for judging it.
type FrameControl struct {
	Frame       []byte
	Trace       *mo.Trace
	Supplies    int
	Unavailable int
	Errors      int
}

// NewFrameControl returns a control with a frame of the page size.
func NewFrameControl(pageSize mo.Size, trace *mo.Trace) *FrameControl {
	return &FrameControl{Frame: make([]byte, pageSize), Trace: trace}
}

// DataSupply implements mo.Control.
func (f *FrameControl) DataSupply(offset mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	copy(f.Frame, data)
	f.Supplies++
	f.Trace.Record(mo.Event{Op: mo.OpDataSupply, Offset: offset, Size: mo.Size(len(data)), Prot: lock})
	return nil
}

// DataUnavailable implements mo.Control.
func (f *FrameControl) DataUnavailable(offset mo.Offset, length mo.Size) error {
	clear(f.Frame)
	f.Unavailable++
	f.Trace.Record(mo.Event{Op: mo.OpDataUnavailable, Offset: offset, Size: length})
	return nil
}

// DataError implements mo.Control.
func (f *FrameControl) DataError(offset mo.Offset, length mo.Size, reason error) error {
	f.Errors++
	f.Trace.Record(mo.Event{Op: mo.OpDataError, Offset: offset, Size: length})
	return nil
}

// LockRequest implements mo.Control; there is no cache to act on.
func (f *FrameControl) LockRequest(offset mo.Offset, length mo.Size, shouldReturn mo.ReturnPolicy, shouldFlush bool, lock mo.Prot, reply bool) error {
	return nil
}

// ChangeAttributes implements mo.Control.
func (f *FrameControl) ChangeAttributes(attr mo.Attributes, reply bool) error { return nil }

// GetAttributes implements mo.Control.
func (f *FrameControl) GetAttributes() (mo.Attributes, error) { return mo.Attributes{}, nil }

// Destroy implements mo.Control.
func (f *FrameControl) Destroy(reason error) error { return nil }

// Ready implements mo.Control.
func (f *FrameControl) Ready(attr mo.Attributes) error { return nil }

// SynchronizeCompleted implements mo.Control.
func (f *FrameControl) SynchronizeCompleted(offset mo.Offset, length mo.Size) error { return nil }

// RoundTrip is a pager's data path as a fault sees it: data_request for one
// page at a time, answered inside the call, into a FrameControl.
type RoundTrip struct {
	Obj      mo.Object
	Ctl      *FrameControl
	PageSize mo.Size
	Pages    int // the pages requested in turn
	seqno    mo.Seqno
	n        int
}

// NewRoundTrip sends Init to obj with a FrameControl and the page size.
func NewRoundTrip(obj mo.Object, pageSize mo.Size, pages int, trace *mo.Trace) (*RoundTrip, error) {
	ctl := NewFrameControl(pageSize, trace)
	if err := obj.Init(0, ctl, pageSize); !mo.Accepted(err) {
		return nil, err
	}
	return &RoundTrip{Obj: obj, Ctl: ctl, PageSize: pageSize, Pages: pages, seqno: 1}, nil
}

// Seqno takes the next seqno, for a call the caller makes itself on r.Ctl.
func (r *RoundTrip) Seqno() mo.Seqno {
	s := r.seqno
	r.seqno++
	return s
}

// Do requests the next page and returns the pager's result.
func (r *RoundTrip) Do() error {
	off := mo.Offset(r.n%r.Pages) * mo.Offset(r.PageSize)
	r.n++
	s := r.seqno
	r.seqno++
	r.Ctl.Trace.Record(mo.Event{Op: mo.OpDataRequest, Seqno: s, Offset: off, Size: r.PageSize})
	return r.Obj.DataRequest(s, r.Ctl, off, r.PageSize, mo.ProtRead)
}

// BenchmarkRoundTrip measures r.Do and, in the same run, a copy of one
// page (the cost of the data_supply copy alone), and reports the ratio as
// BenchmarkCopyRatio does.
func BenchmarkRoundTrip(b *testing.B, r *RoundTrip) {
	b.Helper()
	BenchmarkCopyRatio(b, int(r.PageSize), func(int) {
		if err := r.Do(); !mo.Accepted(err) {
			b.Fatal(err)
		}
	})
}

// BenchmarkCopyRatio runs op b.N times and reports its time as a ratio to
// a raw copy of pageSize bytes measured in the same run ("x-copy"), next
// to the copy's own "copy-ns/op". The machine may be shared: it takes the
// better of two copy runs, one on each side of the measured loop.
func BenchmarkCopyRatio(b *testing.B, pageSize int, op func(i int)) {
	b.Helper()
	src, dst := make([]byte, pageSize), make([]byte, pageSize)
	copies := func() time.Duration {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			copy(dst, src)
		}
		return time.Since(start)
	}
	base := copies()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op(i)
	}
	b.StopTimer()
	base = max(min(base, copies()), 1)
	b.ReportMetric(float64(b.Elapsed())/float64(base), "x-copy")
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "copy-ns/op")
}
