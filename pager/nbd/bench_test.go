package nbd

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// benchRatio reports op's time as a ratio to a 4 KiB copy in the same
// run (motest.BenchmarkCopyRatio).
func benchRatio(b *testing.B, op func(i int)) { motest.BenchmarkCopyRatio(b, ps, op) }

const benchPages = 256

// BenchmarkNBDPageOut is one 4 KiB data_return through the default pager
// into an NBD store served by qemu-nbd on loopback: a write with FUA (the
// default: stable when acknowledged), and a write alone (Config.NoFUA).
func BenchmarkNBDPageOut(b *testing.B) {
	b.Run("fua", func(b *testing.B) { benchPageOut(b, false) })
	b.Run("nofua", func(b *testing.B) { benchPageOut(b, true) })
}

func benchPageOut(b *testing.B, noFUA bool) {
	srv := startQemuNBD(b, benchPages*ps)
	c := newClient(b, Config{Dial: srv.Dial, Export: srv.Export, NoFUA: noFUA})
	p := newDefaultPager(b, c)
	ctl := motest.NewFrameControl(ps, nil)
	obj, err := p.Create(ctl, benchPages*ps, ps)
	if err != nil {
		b.Fatal(err)
	}
	data := page(1, 1)
	benchRatio(b, func(i int) {
		if err := obj.DataReturn(mo.Seqno(i+1), ctl, mo.Offset(i%benchPages*ps), data, true, false); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkNBDPageIn is one 4 KiB data_request answered with data_supply
// from an NBD store served by qemu-nbd on loopback.
func BenchmarkNBDPageIn(b *testing.B) {
	srv := startQemuNBD(b, benchPages*ps)
	c := newClient(b, Config{Dial: srv.Dial, Export: srv.Export})
	p := newDefaultPager(b, c)
	ctl := motest.NewFrameControl(ps, nil)
	obj, err := p.Create(ctl, benchPages*ps, ps)
	if err != nil {
		b.Fatal(err)
	}
	s := mo.Seqno(1)
	for i := 0; i < benchPages; i++ {
		if err := obj.DataReturn(s, ctl, mo.Offset(i*ps), page(uint64(i), 2), true, false); err != nil {
			b.Fatal(err)
		}
		s++
	}
	benchRatio(b, func(i int) {
		if err := obj.DataRequest(s, ctl, mo.Offset(i%benchPages*ps), ps, mo.ProtRead); err != nil {
			b.Fatal(err)
		}
		s++
	})
	if ctl.Supplies < b.N {
		b.Fatalf("%d supplies for %d requests", ctl.Supplies, b.N)
	}
}

// BenchmarkNBDConnect is one connection: dial, fixed newstyle
// negotiation with NBD_OPT_GO, and NBD_CMD_DISC.
func BenchmarkNBDConnect(b *testing.B) {
	srv := startQemuNBD(b, benchPages*ps)
	benchRatio(b, func(i int) {
		c, err := New(Config{Dial: srv.Dial, Export: srv.Export})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	})
}
