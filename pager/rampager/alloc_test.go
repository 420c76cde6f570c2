package rampager

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

func roundTrip(t testing.TB, precious bool, trace *mo.Trace) *motest.RoundTrip {
	o, err := New(Config{Size: testSize, Initial: initial(), Precious: precious})
	if err != nil {
		t.Fatal(err)
	}
	r, err := motest.NewRoundTrip(o, 4<<10, testSize/(4<<10), trace)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDataRequestSupplyAllocatesNothing: the synchronous data path,
// data_request answered by data_supply inside the call, allocates nothing,
// with tracing off and on.
func TestDataRequestSupplyAllocatesNothing(t *testing.T) {
	for _, c := range []struct {
		name     string
		trace    *mo.Trace
		precious bool
	}{
		{"TraceOff", nil, false},
		{"TraceOn", mo.NewTrace(64), false},
		{"PreciousTraceOn", mo.NewTrace(64), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := roundTrip(t, c.precious, c.trace)
			if n := testing.AllocsPerRun(200, func() { r.Do() }); n != 0 {
				t.Errorf("%v allocations per data_request", n)
			}
			if r.Ctl.Supplies < 200 {
				t.Errorf("%d supplies, want at least 200", r.Ctl.Supplies)
			}
			if c.trace != nil && c.trace.Total() < 400 {
				t.Errorf("trace recorded %d events, want at least 400", c.trace.Total())
			}
		})
	}
}

// TestDataReturnAllocatesNothing: data_return copies into the arena.
func TestDataReturnAllocatesNothing(t *testing.T) {
	r := roundTrip(t, false, nil)
	data := make([]byte, 4<<10)
	s := mo.Seqno(1)
	if n := testing.AllocsPerRun(200, func() {
		r.Obj.DataReturn(s, r.Ctl, mo.Offset(s%8)*4096, data, true, false)
		s++
	}); n != 0 {
		t.Errorf("%v allocations per data_return", n)
	}
}

func BenchmarkDataRequestSupply(b *testing.B) {
	b.Run("TraceOff", func(b *testing.B) { motest.BenchmarkRoundTrip(b, roundTrip(b, false, nil)) })
	b.Run("TraceOn", func(b *testing.B) { motest.BenchmarkRoundTrip(b, roundTrip(b, false, mo.NewTrace(1024))) })
	b.Run("Precious", func(b *testing.B) { motest.BenchmarkRoundTrip(b, roundTrip(b, true, nil)) })
}
