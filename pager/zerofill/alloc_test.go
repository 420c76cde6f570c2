package zerofill

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// roundTrip makes an object and a round trip over its first 32 pages;
// with supplied, those pages were returned once, so they are answered with
// data_supply, and otherwise with data_unavailable.
func roundTrip(t testing.TB, trace *mo.Trace, supplied bool) *motest.RoundTrip {
	o, err := New(256 << 10)
	if err != nil {
		t.Fatal(err)
	}
	r, err := motest.NewRoundTrip(o, 4<<10, 32, trace)
	if err != nil {
		t.Fatal(err)
	}
	if supplied {
		page := make([]byte, 4<<10)
		for i := range page {
			page[i] = byte(i)
		}
		for off := mo.Offset(0); off < 128<<10; off += 4 << 10 {
			if err := o.DataReturn(r.Seqno(), r.Ctl, off, page, true, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	return r
}

func TestDataRequestAllocatesNothing(t *testing.T) {
	for _, c := range []struct {
		name     string
		trace    *mo.Trace
		supplied bool
	}{
		{"UnavailableTraceOff", nil, false},
		{"UnavailableTraceOn", mo.NewTrace(64), false},
		{"SupplyTraceOff", nil, true},
		{"SupplyTraceOn", mo.NewTrace(64), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := roundTrip(t, c.trace, c.supplied)
			if n := testing.AllocsPerRun(200, func() { r.Do() }); n != 0 {
				t.Errorf("%v allocations per data_request", n)
			}
			if c.supplied && r.Ctl.Supplies < 200 || !c.supplied && r.Ctl.Unavailable < 200 {
				t.Errorf("answers: %d supplies, %d unavailable; want 200 of one kind", r.Ctl.Supplies, r.Ctl.Unavailable)
			}
			if c.supplied && r.Ctl.Frame[5] != 5 {
				t.Errorf("frame holds %#x at 5, want the returned data", r.Ctl.Frame[5])
			}
		})
	}
}

func BenchmarkDataRequestSupply(b *testing.B) {
	b.Run("Supply", func(b *testing.B) { motest.BenchmarkRoundTrip(b, roundTrip(b, nil, true)) })
	b.Run("SupplyTraceOn", func(b *testing.B) { motest.BenchmarkRoundTrip(b, roundTrip(b, mo.NewTrace(1024), true)) })
	b.Run("Unavailable", func(b *testing.B) { motest.BenchmarkRoundTrip(b, roundTrip(b, nil, false)) })
}
