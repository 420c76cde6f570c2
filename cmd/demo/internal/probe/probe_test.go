package probe

import (
	"testing"

	"github.com/tamach/tamach/mo"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 15, 16, 17, 31, 32, 1000, 1 << 40, 1<<64 - 1} {
		lo, w := bounds(bucket(v))
		if v < lo || v-lo >= w {
			t.Errorf("value %d in bucket %d [%d, +%d)", v, bucket(v), lo, w)
		}
	}
	for i := 1; i < numBuckets; i++ {
		lo, _ := bounds(i)
		plo, pw := bounds(i - 1)
		if plo+pw != lo {
			t.Fatalf("bucket %d starts at %d, bucket %d ends at %d", i, lo, i-1, plo+pw)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var h Histogram
	for v := uint64(1); v <= 1000; v++ {
		h.Record(v * 1000)
	}
	c := h.Snapshot()
	for _, q := range []struct {
		q    float64
		want uint64
	}{{0.5, 500000}, {0.99, 990000}, {1, 1000000}} {
		got := c.Quantile(q.q)
		if got < q.want*7/8 || got > q.want*9/8 {
			t.Errorf("quantile %v = %d, want within 12.5%% of %d", q.q, got, q.want)
		}
	}
	var empty Counts
	if empty.Quantile(0.5) != 0 || Micros(&empty, 0.5) != "-" {
		t.Error("an empty histogram has a quantile")
	}
	h.Record(5)
	d := h.Snapshot().Sub(c)
	if d.N() != 1 || d.Quantile(0.99) != 5 {
		t.Errorf("interval holds %d values, 99th percentile %d; want one, 5", d.N(), d.Quantile(0.99))
	}
}

// fakeDefault answers data_request inside the call (sync) or keeps it
// for later (async), through the control it was given.
type fakeDefault struct {
	ctl   mo.Control
	async bool
	later []mo.Offset
	clock *uint64
}

func (f *fakeDefault) Create(ctl mo.Control, size, ps mo.Size) (mo.DefaultObject, error) {
	f.ctl = ctl
	return &fakeObject{f: f}, nil
}

type fakeObject struct {
	mo.DefaultObject // methods the test does not call
	f                *fakeDefault
}

func (o *fakeObject) DataRequest(seq mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, p mo.Prot) error {
	if ctl != o.f.ctl {
		panic("the pager was called with a control it was not given")
	}
	*o.f.clock += 700
	if o.f.async {
		o.f.later = append(o.f.later, off)
		return nil
	}
	return ctl.DataUnavailable(off, n)
}

func (o *fakeObject) DataReturn(seq mo.Seqno, ctl mo.Control, off mo.Offset, data []byte, dirty, kc bool) error {
	*o.f.clock += 300
	return nil
}

// kernelControl stands for the kernel's control.
type kernelControl struct {
	mo.Control
	answers int
}

func (k *kernelControl) DataUnavailable(off mo.Offset, n mo.Size) error { k.answers++; return nil }
func (k *kernelControl) DataSupply(off mo.Offset, d []byte, l mo.Prot, p, r bool) error {
	k.answers++
	return nil
}

func TestRoundTripsAreTimedToTheAnswer(t *testing.T) {
	for _, async := range []bool{false, true} {
		var clock uint64
		inner := &fakeDefault{async: async, clock: &clock}
		p := &Pager{Inner: inner, Now: func() uint64 { return clock }}
		kc := &kernelControl{}
		obj, err := p.Create(kc, 1<<20, 4096)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if err := obj.DataRequest(mo.Seqno(i+1), kc, mo.Offset(i)<<12, 4096, mo.ProtRead); err != nil {
				t.Fatal(err)
			}
		}
		if async {
			clock += 5000
			for _, off := range inner.later {
				inner.ctl.DataSupply(off, make([]byte, 4096), 0, false, false)
			}
		}
		obj.DataReturn(4, kc, 0, make([]byte, 4096), true, false)
		in, out := p.PageIn.Snapshot(), p.PageOut.Snapshot()
		if in.N() != 3 || kc.answers != 3 {
			t.Fatalf("async %v: %d round trips timed, %d answers reached the kernel; want 3", async, in.N(), kc.answers)
		}
		want := uint64(700) // sync: answered inside the call, which takes 700
		if async {
			want = 5700 // the last request, made at 1400, answered at 7100
		}
		if q := in.Quantile(0); q < want*7/8 || q > want*9/8 {
			t.Errorf("async %v: shortest round trip %d, want about %d", async, q, want)
		}
		if q := out.Quantile(0.5); q < 300*7/8 || q > 300*9/8 {
			t.Errorf("page-out took %d, want about 300", q)
		}
		if p.npend != 0 {
			t.Errorf("%d requests still pending", p.npend)
		}
	}
}

func TestTooManyPendingAreNotTimed(t *testing.T) {
	var clock uint64
	inner := &fakeDefault{async: true, clock: &clock}
	p := &Pager{Inner: inner, Now: func() uint64 { return clock }}
	kc := &kernelControl{}
	obj, _ := p.Create(kc, 1<<30, 4096)
	for i := 0; i < maxPending+5; i++ {
		obj.DataRequest(mo.Seqno(i+1), kc, mo.Offset(i)<<12, 4096, mo.ProtRead)
	}
	if p.Untimed() != 5 {
		t.Errorf("untimed %d, want 5", p.Untimed())
	}
	allocs := testing.AllocsPerRun(100, func() {
		obj.DataRequest(1, kc, 0, 4096, mo.ProtRead)
		inner.ctl.DataSupply(0, nil, 0, false, false)
	})
	if allocs != 0 {
		t.Errorf("a timed round trip allocates %v times", allocs)
	}
}
