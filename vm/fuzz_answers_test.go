package vm

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// silentPager takes every call and answers none: the fuzz script answers
// for it, on the control it was given.
type silentPager struct{ ctl mo.Control }

func (p *silentPager) FaultSafe() bool { return true }
func (p *silentPager) Init(_ mo.Seqno, ctl mo.Control, _ mo.Size) error {
	p.ctl = ctl
	return ctl.Ready(mo.Attributes{CopyStrategy: mo.CopyDelay})
}
func (p *silentPager) DataRequest(mo.Seqno, mo.Control, mo.Offset, mo.Size, mo.Prot) error {
	return nil
}
func (p *silentPager) DataUnlock(mo.Seqno, mo.Control, mo.Offset, mo.Size, mo.Prot) error { return nil }
func (p *silentPager) DataReturn(mo.Seqno, mo.Control, mo.Offset, []byte, bool, bool) error {
	return nil
}
func (p *silentPager) Synchronize(mo.Seqno, mo.Control, mo.Offset, mo.Size, mo.SyncFlags) error {
	return nil
}
func (p *silentPager) Terminate(mo.Seqno, mo.Control) error                         { return nil }
func (p *silentPager) LockCompleted(mo.Seqno, mo.Control, mo.Offset, mo.Size) error { return nil }
func (p *silentPager) ChangeCompleted(mo.Seqno, mo.Control, mo.Attributes) error    { return nil }
func (p *silentPager) SupplyCompleted(mo.Seqno, mo.Control, mo.Offset, mo.Size, error, mo.Offset) error {
	return nil
}

// FuzzKernelAnswers feeds the kernel every answer a pager can make, well
// formed or not, in any order, interleaved with faults: answers for pages
// never requested, twice, unaligned, out of range, with bad locks and
// policies, after destroy. The kernel must refuse what it cannot take,
// never panic, and keep its invariants; a supplied page that a fault maps
// holds the supplied data.
func FuzzKernelAnswers(f *testing.F) {
	f.Add([]byte{0, 1, 0, 1, 1, 0, 1, 0x11, 0, 0, 1})
	f.Add([]byte{0, 2, 1, 2, 2, 0, 0, 3, 2, 1, 4, 0, 4, 2, 3, 6, 0, 0})
	f.Add([]byte{0, 0, 0, 5, 0, 1, 7, 0, 0, 0, 3, 1})
	f.Fuzz(func(t *testing.T, script []byte) {
		const ps = 4 << 10
		const pages = 8
		e := newEnv(t, envOpt{ps: ps, frames: 6, noPageout: true})
		p := &silentPager{}
		r, err := e.k.Map(p, pages*ps, 0, pages*ps, MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		next := func() byte {
			if len(script) == 0 {
				return 0
			}
			b := script[0]
			script = script[1:]
			return b
		}
		supplied := [pages]byte{}
		for steps := 0; len(script) > 0 && steps < 64; steps++ {
			op, a, b, c := next(), next(), next(), next()
			off := mo.Offset(a%(pages+2)) * ps
			if c&0x80 != 0 {
				off += mo.Offset(c) // unaligned
			}
			n := mo.Size(b%4) * ps
			switch op % 8 {
			case 0: // a fault: read or write of page a
				acc := pmap.Read
				if b&1 != 0 {
					acc = pmap.Write
				}
				va := r.Addr() + uint32(a%pages)*ps
				f := pmap.Fault{Addr: va, Access: acc, Kind: pmap.KindTranslation, Level: 2, Status: pmap.FSTranslationPage}
				if e.k.HandleFault(&f, false) == pmap.Retry {
					if m, ok := e.k.pm.Lookup(va); ok && acc == pmap.Read && supplied[a%pages] != 0 {
						if got := e.mem.Bytes(m.PA, 1)[0]; got != supplied[a%pages] {
							t.Fatalf("page %d holds %#x, supplied %#x", a%pages, got, supplied[a%pages])
						}
					}
				}
			case 1:
				v := c | 1
				data := make([]byte, n)
				for i := range data {
					data[i] = v
				}
				if p.ctl.DataSupply(off, data, mo.Prot(c&0x0f), c&0x10 != 0, c&0x20 != 0) == nil {
					for i := mo.Offset(0); i < mo.Offset(n); i += ps {
						supplied[(off+i)/ps] = v
					}
				}
			case 2:
				p.ctl.DataUnavailable(off, n)
			case 3:
				p.ctl.DataError(off, n, mo.KernFailure)
			case 4:
				p.ctl.LockRequest(off, n, mo.ReturnPolicy(c%4), c&4 != 0, mo.Prot(c>>3&0x0f), c&0x80 != 0)
			case 5:
				p.ctl.ChangeAttributes(mo.Attributes{MayCache: c&1 != 0, CopyStrategy: mo.CopyStrategy(c >> 1 % 6),
					ClusterSize: mo.Size(b%4) * ps}, c&0x80 != 0)
			case 6:
				p.ctl.SynchronizeCompleted(off, n)
			case 7:
				if c == 7 {
					p.ctl.Destroy(mo.KernFailure)
					e.k.Quiesce()
				}
			}
			if err := e.k.CheckInvariants(); err != nil {
				t.Fatalf("step %d (op %d): %v", steps, op%8, err)
			}
		}
		r.Unmap()
		e.k.Quiesce()
		if err := e.k.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}
