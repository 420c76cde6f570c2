package motest_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest"
)

// flaws of brokenPager, each breaking one rule.
type flaws struct {
	forget        bool // forgets a page once supplied, as if clean pages came back
	keepSlice     bool // keeps data_return's slice instead of copying it
	lateAnswer    bool // answers a terminated control's requests once more, on its next call
	wrongSize     bool // supplies half a page
	acceptBadSize bool // accepts any page size
	noFlush       bool // destroys without flushing first
	holdTurn      bool // never leaves the turn of a reply it did not ask for
}

// brokenPager is a small synchronous pager over a flat arena. With no flaw
// it passes every scenario (TestBrokenPagerBaseIsCorrect), so each failure
// below comes from its flaw alone.
type brokenPager struct {
	mo.NoReplies
	f flaws

	mu      sync.Mutex
	arena   []byte
	slices  map[mo.Offset][]byte // keepSlice: returned pages, not copied
	kernels map[mo.Control]*bkernel
	dead    map[mo.Control]bool
	held    []heldRequest // lateAnswer: requests answered
	stale   []heldRequest // lateAnswer: requests of terminated controls
}

type bkernel struct {
	seq mo.Sequencer
	ps  mo.Size
}

type heldRequest struct {
	ctl mo.Control
	off mo.Offset
	len mo.Size
}

const brokenSize = 128 << 10

func brokenPattern(off mo.Offset) byte { return byte(off>>9) | 1 }

func newBroken(f flaws) *brokenPager {
	b := &brokenPager{f: f, arena: make([]byte, brokenSize), slices: map[mo.Offset][]byte{},
		kernels: map[mo.Control]*bkernel{}, dead: map[mo.Control]bool{}}
	b.Acknowledge = b.acknowledge
	for i := range b.arena {
		b.arena[i] = brokenPattern(mo.Offset(i))
	}
	return b
}

func (b *brokenPager) enter(s mo.Seqno, ctl mo.Control) (*bkernel, error) {
	b.mu.Lock()
	k, dead := b.kernels[ctl], b.dead[ctl]
	b.mu.Unlock()
	if k == nil {
		if dead {
			return nil, mo.KernTerminated
		}
		return nil, mo.KernInvalidArgument
	}
	k.seq.Enter(s)
	return k, nil
}

func (b *brokenPager) Init(s mo.Seqno, ctl mo.Control, ps mo.Size) error {
	b.mu.Lock()
	if !b.f.acceptBadSize && (mo.CheckPageSize(ps) != nil || brokenSize%ps != 0) {
		b.dead[ctl] = true
		b.mu.Unlock()
		return mo.KernInvalidArgument
	}
	k := &bkernel{ps: ps}
	k.seq.Enter(0)
	b.kernels[ctl] = k
	b.mu.Unlock()
	k.seq.Leave(0)
	return ctl.Ready(mo.Attributes{})
}

func (b *brokenPager) DataRequest(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, p mo.Prot) error {
	k, err := b.enter(s, ctl)
	if err != nil {
		return err
	}
	k.seq.Leave(s)
	if err := mo.CheckRange(off, n, k.ps, brokenSize); err != nil || !p.Valid() {
		return mo.KernInvalidArgument
	}
	if b.f.lateAnswer {
		b.mu.Lock()
		stale := b.stale
		b.stale = nil
		b.held = append(b.held, heldRequest{ctl, off, n})
		b.mu.Unlock()
		for _, h := range stale {
			h.ctl.DataSupply(h.off, b.arena[h.off:h.off+mo.Offset(h.len)], mo.ProtNone, false, false)
		}
	}
	for o := off; o < off+mo.Offset(n); o += mo.Offset(k.ps) {
		b.mu.Lock()
		data := b.arena[o : o+mo.Offset(k.ps)]
		if s, ok := b.slices[o]; ok {
			data = s
		}
		b.mu.Unlock()
		if b.f.wrongSize {
			data = data[:len(data)/2]
		}
		ctl.DataSupply(o, data, mo.ProtNone, false, false)
		if b.f.forget {
			b.mu.Lock()
			clear(b.arena[o : o+mo.Offset(k.ps)])
			b.mu.Unlock()
		}
	}
	return nil
}

func (b *brokenPager) DataUnlock(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, p mo.Prot) error {
	k, err := b.enter(s, ctl)
	if err != nil {
		return err
	}
	k.seq.Leave(s)
	return nil
}

func (b *brokenPager) DataReturn(s mo.Seqno, ctl mo.Control, off mo.Offset, data []byte, dirty, kc bool) error {
	k, err := b.enter(s, ctl)
	if err != nil {
		return err
	}
	defer k.seq.Leave(s)
	if err := mo.CheckRange(off, mo.Size(len(data)), k.ps, brokenSize); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f.keepSlice {
		b.slices[off] = data
		return nil
	}
	copy(b.arena[off:], data)
	return nil
}

func (b *brokenPager) Synchronize(s mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, f mo.SyncFlags) error {
	k, err := b.enter(s, ctl)
	if err != nil {
		return err
	}
	k.seq.Leave(s)
	if err := mo.CheckRange(off, n, k.ps, brokenSize); err != nil {
		return err
	}
	return ctl.SynchronizeCompleted(off, n)
}

func (b *brokenPager) Terminate(s mo.Seqno, ctl mo.Control) error {
	k, err := b.enter(s, ctl)
	if err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.kernels, ctl)
	b.dead[ctl] = true
	for _, h := range b.held {
		if h.ctl == ctl {
			b.stale = append(b.stale, h)
		}
	}
	b.mu.Unlock()
	k.seq.Leave(s)
	return nil
}

func (b *brokenPager) acknowledge(s mo.Seqno, ctl mo.Control) error {
	k, err := b.enter(s, ctl)
	if err != nil {
		return err
	}
	if !b.f.holdTurn {
		k.seq.Leave(s)
	}
	return nil
}

func (b *brokenPager) destroy(reason error) error {
	b.mu.Lock()
	var ctls []mo.Control
	for c := range b.kernels {
		ctls = append(ctls, c)
	}
	b.mu.Unlock()
	for _, c := range ctls {
		if !b.f.noFlush {
			c.LockRequest(0, brokenSize, mo.ReturnDirty, true, mo.ProtWrite, false)
		}
		c.Destroy(reason)
	}
	return nil
}

func brokenConfig(f flaws) motest.PagerConfig {
	return motest.PagerConfig{
		New:     func() (mo.Object, error) { return newBroken(f), nil },
		Size:    brokenSize,
		Initial: brokenPattern,
		Destroy: func(o mo.Object, r error) error { return o.(*brokenPager).destroy(r) },
	}
}

func TestBrokenPagerBaseIsCorrect(t *testing.T) {
	motest.TestPager(t, brokenConfig(flaws{}))
}

// Each broken pager must fail the named scenario with a message naming the
// rule it broke.
func TestBrokenPagersFailNamingTheRule(t *testing.T) {
	for _, c := range []struct {
		name     string
		f        flaws
		scenario string
		rule     string
	}{
		{"ReturnsCleanPagesForgotten", flaws{forget: true}, "DataReturnOnlyDirtyOrPrecious", motest.RuleDataReturnOnlyDirtyOrPrec},
		{"KeepsLentSlice", flaws{keepSlice: true}, "DataReturnOnlyDirtyOrPrecious", motest.RuleDataReturnLent},
		{"AnswersAfterTerminate", flaws{lateAnswer: true}, "NoCallAfterTerminate", motest.RuleNoCallAfterTerminate},
		{"SuppliesWrongSize", flaws{wrongSize: true}, "DataRequestAnsweredOnce", motest.RulePageMultiple},
		{"AcceptsBadPageSize", flaws{acceptBadSize: true}, "InitErrorDropsControl", motest.RuleBadInputRefused},
		{"DestroysWithoutFlush", flaws{noFlush: true}, "FlushWithWriteLockBeforeDestroyReturnsDirtyData", motest.RuleFlushBeforeDestroy},
		{"HoldsTheTurnOfAnUnaskedReply", flaws{holdTurn: true}, "UnaskedRepliesKeepSeqnoOrder", motest.RuleSeqnoOrder},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := motest.RunPagerScenario(brokenConfig(c.f), c.scenario)
			if err == nil {
				t.Fatalf("scenario %s passed a pager that breaks %q", c.scenario, c.rule)
			}
			if !strings.Contains(err.Error(), c.rule) {
				t.Fatalf("scenario %s failed without naming the rule %q: %v", c.scenario, c.rule, err)
			}
			t.Logf("as expected: %v", err)
		})
	}
}
