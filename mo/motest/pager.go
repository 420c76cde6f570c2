package motest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
)

// PagerConfig describes a pager to TestPager.
type PagerConfig struct {
	// New returns a fresh object; each scenario uses its own.
	New func() (mo.Object, error)
	// Size is the object's size: a multiple of 64 KiB, at least 128 KiB.
	Size mo.Size
	// Initial gives the object's first contents at an offset; nil means
	// zeros (data_unavailable is as good as a zero-filled page).
	Initial func(off mo.Offset) byte
	// Destroy makes the pager destroy obj (flush, then Control.Destroy on
	// every control). Nil if the pager has no way to; the destroy scenarios
	// are then skipped.
	Destroy func(obj mo.Object, reason error) error
	// Timeout bounds each wait for an answer; zero means 5 seconds.
	Timeout time.Duration
	// Trace, if set, records every call of the scenarios.
	Trace *mo.Trace
}

type pagerRun struct {
	*run
	cfg    PagerConfig
	obj    mo.Object
	ids    uint16
	expect []byte // what the object holds, as far as the scenario knows
}

type pagerScenario struct {
	name string
	fn   func(p *pagerRun)
}

// PagerScenarios returns the names of the pager scenarios, in the order
// TestPager runs them.
func PagerScenarios() []string {
	var names []string
	for _, s := range pagerScenarios {
		names = append(names, s.name)
	}
	return names
}

// TestPager runs every pager scenario against cfg as a subtest.
func TestPager(t *testing.T, cfg PagerConfig) {
	t.Helper()
	for _, s := range pagerScenarios {
		t.Run(s.name, func(t *testing.T) {
			if s.needsDestroy() && cfg.Destroy == nil {
				t.Skip("the pager has no Destroy")
			}
			if err := RunPagerScenario(cfg, s.name); err != nil {
				t.Error(err)
			}
		})
	}
}

func (s pagerScenario) needsDestroy() bool {
	return s.name == "DestroyIsFollowedByTerminate" || s.name == "FlushWithWriteLockBeforeDestroyReturnsDirtyData"
}

// RunPagerScenario runs one named scenario and returns its first violation,
// or nil. An unknown name gives KernInvalidArgument.
func RunPagerScenario(cfg PagerConfig, name string) error {
	for _, s := range pagerScenarios {
		if s.name != name {
			continue
		}
		if s.needsDestroy() && cfg.Destroy == nil {
			return nil
		}
		if cfg.Timeout == 0 {
			cfg.Timeout = 5 * time.Second
		}
		if cfg.Size < 128<<10 || cfg.Size%(64<<10) != 0 {
			return mo.KernInvalidArgument
		}
		obj, err := cfg.New()
		if err != nil {
			return err
		}
		p := &pagerRun{run: &run{scenario: name, timeout: cfg.Timeout, trace: cfg.Trace}, cfg: cfg, obj: obj}
		p.expect = make([]byte, cfg.Size)
		if cfg.Initial != nil {
			for i := range p.expect {
				p.expect[i] = cfg.Initial(mo.Offset(i))
			}
		}
		return p.do(func() { s.fn(p); p.quiesce(); p.check() })
	}
	return mo.KernInvalidArgument
}

func (p *pagerRun) quiesce() {
	if q, ok := p.obj.(Quiescer); ok {
		q.Quiesce()
	}
}

// control makes a control for a new kernel without sending Init.
func (p *pagerRun) control(pageSize mo.Size) *KernelControl {
	p.ids++
	return newKernelControl(p.run, p.ids, p.obj, pageSize, p.cfg.Size)
}

// kernel makes a kernel with the page size, sends Init and waits for Ready.
func (p *pagerRun) kernel(pageSize mo.Size) *KernelControl {
	k := p.control(pageSize)
	if err := k.init(pageSize); !mo.Accepted(err) {
		p.fail(RuleInitOncePerKernel, "%v: init refused: %v", k, err)
	}
	k.waitFor(RuleInitOncePerKernel, "ready after init", func() bool { return k.ready })
	return k
}

// fetch requests a range, waits for every page and checks the data.
func (p *pagerRun) fetch(k *KernelControl, offset mo.Offset, length mo.Size) {
	if err := k.request(offset, length, mo.ProtRead|mo.ProtWrite); !mo.Accepted(err) {
		p.fail(RuleAnswerEachRequest, "%v: data_request offset %#x size %#x refused: %v", k, offset, length, err)
	}
	p.await(k, offset, length)
}

// refetch is fetch after the kernel dropped clean pages silently: data that
// does not match breaks the data_return rule.
func (p *pagerRun) refetch(k *KernelControl, offset mo.Offset, length mo.Size) {
	if err := k.request(offset, length, mo.ProtRead|mo.ProtWrite); !mo.Accepted(err) {
		p.fail(RuleAnswerEachRequest, "%v: data_request offset %#x size %#x refused: %v", k, offset, length, err)
	}
	p.awaitRule(k, offset, length, RuleDataReturnOnlyDirtyOrPrec)
}

// await waits for the pages of a requested range and checks them.
func (p *pagerRun) await(k *KernelControl, offset mo.Offset, length mo.Size) {
	p.awaitRule(k, offset, length, RuleAnswerEachRequest)
}

func (p *pagerRun) awaitRule(k *KernelControl, offset mo.Offset, length mo.Size, dataRule string) {
	end := offset + mo.Offset(length)
	k.waitFor(RuleAnswerEachRequest, "answer to data_request", func() bool {
		for off := offset; off < end; off += mo.Offset(k.pageSize) {
			if k.pending[off] {
				return false
			}
		}
		return true
	})
	k.mu.Lock()
	defer k.mu.Unlock()
	for off := offset; off < end; off += mo.Offset(k.pageSize) {
		pg := k.pages[off]
		if pg == nil {
			p.fail(RuleAnswerEachRequest, "%v: page %#x answered but not resident", k, off)
		}
		if pg.err != nil {
			p.fail(RuleAnswerEachRequest, "%v: data_error for page %#x of the object: %v", k, off, pg.err)
		}
		want := p.expect[off : off+mo.Offset(k.pageSize)]
		if !bytes.Equal(pg.data, want) {
			rule := dataRule
			if bytes.Contains(pg.data, []byte{Poison, Poison, Poison, Poison}) {
				rule = RuleDataReturnLent
			}
			p.fail(rule, "%v: page %#x supplied with the wrong data (first byte %#x, want %#x)", k, off, pg.data[0], want[0])
		}
	}
}

// write fills a resident page with b and marks it dirty.
func (p *pagerRun) write(k *KernelControl, off mo.Offset, b byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	pg := k.pages[off]
	if pg == nil {
		p.fail(RuleAnswerEachRequest, "%v: page %#x not resident", k, off)
	}
	for i := range pg.data {
		pg.data[i] = b + byte(i)
	}
	pg.dirty = true
}

// evict pages a resident page out as a kernel does: dirty or precious pages
// go back with data_return, clean ones are dropped silently.
func (p *pagerRun) evict(k *KernelControl, off mo.Offset) {
	k.mu.Lock()
	pg := k.pages[off]
	delete(k.pages, off)
	k.mu.Unlock()
	if pg == nil || !(pg.dirty || pg.precious) {
		return
	}
	if err := k.dataReturn(off, pg.data, pg.dirty, false); err != nil {
		p.fail(RuleDataReturnOnlyDirtyOrPrec, "%v: data_return of page %#x (dirty %v) refused: %v", k, off, pg.dirty, err)
	}
	if pg.dirty {
		// A clean page carries nothing new; with two kernels it may even be
		// older than what the other returned.
		copy(p.expect[off:], pg.data)
	}
}

// expectNoAnswers checks that the pager sent nothing to k since mark.
func (p *pagerRun) expectNoAnswers(k *KernelControl, mark int, rule, why string) {
	p.quiesce()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.answers) > mark {
		p.fail(rule, "%v: %v: pager answered with %v", k, why, k.answers[mark].Op)
	}
}

var pagerScenarios = []pagerScenario{
	{"InitOncePerKernelWithItsPageSize", func(p *pagerRun) {
		small, large := p.kernel(4<<10), p.kernel(64<<10)
		p.fetch(small, 0, 8<<10)
		p.fetch(large, 0, 64<<10)
		p.fetch(small, 64<<10, 8<<10)
		p.fetch(large, 64<<10, 64<<10)
		// Data returned through one kernel is seen by the other.
		p.write(small, 4<<10, 0x40)
		p.evict(small, 4<<10)
		p.evict(large, 0)
		p.fetch(large, 0, 64<<10)
	}},
	{"InitErrorDropsControl", func(p *pagerRun) {
		for _, ps := range []mo.Size{0, 3000, 4<<10 + 1, 1 << 40} {
			k := p.control(ps)
			err := k.init(ps)
			if mo.Accepted(err) {
				p.fail(RuleBadInputRefused, "%v: init with page size %#x accepted", k, ps)
			}
			if !errors.Is(err, mo.KernInvalidArgument) {
				p.fail(RuleBadInputRefused, "init with page size %#x: got %v, want KERN_INVALID_ARGUMENT", ps, err)
			}
			// The kernel must not use a dropped control, but if it does the
			// pager refuses and does not answer.
			if err := k.call(mo.OpDataRequest, 0, ps, func(s mo.Seqno) error { return p.obj.DataRequest(s, k, 0, ps, mo.ProtRead) }); mo.Accepted(err) {
				p.fail(RuleInitErrorDropsControl, "%v: data_request on a dropped control accepted", k)
			}
		}
		good := p.kernel(4 << 10)
		p.fetch(good, 0, 8<<10)
		p.quiesce()
	}},
	{"DataRequestAnsweredOnce", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		p.fetch(k, 0, 4<<10)
		p.fetch(k, 8<<10, 16<<10)
		p.fetch(k, mo.Offset(p.cfg.Size-4<<10), 4<<10)
		mark := len(k.answers)
		p.expectNoAnswers(k, mark, RuleAnswerEachRequest, "no request outstanding")
	}},
	{"BadInputRefused", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		size := p.cfg.Size
		bad := []struct {
			off mo.Offset
			len mo.Size
			why string
		}{
			{100, 4 << 10, "unaligned offset"},
			{0, 0, "zero size"},
			{0, 100, "size not a page multiple"},
			{mo.Offset(size), 4 << 10, "offset beyond the object"},
			{0, size + 4<<10, "size beyond the object"},
			{^mo.Offset(0) &^ 0xfff, 8 << 10, "range that wraps"},
			{0, ^mo.Size(0) &^ 0xfff, "huge size"},
		}
		mark := len(k.answers)
		for _, b := range bad {
			err := k.call(mo.OpDataRequest, b.off, b.len, func(s mo.Seqno) error { return p.obj.DataRequest(s, k, b.off, b.len, mo.ProtRead) })
			if !errors.Is(err, mo.KernInvalidArgument) {
				p.fail(RuleBadInputRefused, "data_request with %v: got %v, want KERN_INVALID_ARGUMENT", b.why, err)
			}
			junk := bytes.Repeat([]byte{0xee}, int(min(b.len, 64<<10)))
			if b.len <= 64<<10 {
				err = k.call(mo.OpDataReturn, b.off, b.len, func(s mo.Seqno) error { return p.obj.DataReturn(s, k, b.off, junk, true, false) })
				if !errors.Is(err, mo.KernInvalidArgument) {
					p.fail(RuleBadInputRefused, "data_return with %v: got %v, want KERN_INVALID_ARGUMENT", b.why, err)
				}
			}
			err = k.call(mo.OpSynchronize, b.off, b.len, func(s mo.Seqno) error { return p.obj.Synchronize(s, k, b.off, b.len, mo.SyncSynchronous) })
			if !errors.Is(err, mo.KernInvalidArgument) {
				p.fail(RuleBadInputRefused, "synchronize with %v: got %v, want KERN_INVALID_ARGUMENT", b.why, err)
			}
		}
		err := k.call(mo.OpDataRequest, 0, 4<<10, func(s mo.Seqno) error { return p.obj.DataRequest(s, k, 0, 4<<10, mo.Prot(0x80)) })
		if !errors.Is(err, mo.KernInvalidArgument) {
			p.fail(RuleBadInputRefused, "data_request with invalid access: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		stranger := p.control(4 << 10)
		stranger.state = ctlLive
		if err := p.obj.DataRequest(1, stranger, 0, 4<<10, mo.ProtRead); mo.Accepted(err) {
			p.fail(RuleBadInputRefused, "data_request on a control that never sent init was accepted")
		}
		p.expectNoAnswers(k, mark, RuleBadInputRefused, "answer to a refused call")
		// Nothing changed.
		p.fetch(k, 0, 16<<10)
		p.fetch(k, mo.Offset(size-8<<10), 8<<10)
	}},
	{"DataReturnOnlyDirtyOrPrecious", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		p.fetch(k, 0, 32<<10)
		// Page 1 is written and returned dirty; the others are evicted as a
		// kernel does: precious ones come back clean, clean non-precious
		// ones are dropped silently.
		p.write(k, 4<<10, 0x11)
		for off := mo.Offset(0); off < 32<<10; off += 4 << 10 {
			p.evict(k, off)
		}
		// The pager cannot count on the dropped pages: asked again, it must
		// still have their data, and the returned page's data.
		p.refetch(k, 0, 32<<10)
		p.write(k, 8<<10, 0x22)
		p.evict(k, 8<<10)
		p.fetch(k, 8<<10, 4<<10)
	}},
	{"PageMayBeRequestedAgainAfterDataReturn", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		for round := 0; round < 8; round++ {
			off := mo.Offset(round%4) * 4 << 10
			p.fetch(k, off, 4<<10)
			p.write(k, off, byte(0x30+round))
			k.mu.Lock()
			pg := k.pages[off]
			delete(k.pages, off)
			k.pending[off] = true
			s := k.next
			k.next += 2
			k.mu.Unlock()
			copy(p.expect[off:], pg.data)
			// The request (seqno s+1) is made first and concurrently with
			// the return (seqno s): a pager serves them in seqno order.
			var wg sync.WaitGroup
			var reqErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				reqErr = p.obj.DataRequest(s+1, k, off, 4<<10, mo.ProtRead|mo.ProtWrite)
			}()
			buf := append([]byte(nil), pg.data...)
			retErr := p.obj.DataReturn(s, k, off, buf, true, round%2 == 1)
			for i := range buf {
				buf[i] = Poison
			}
			wg.Wait()
			if retErr != nil || !mo.Accepted(reqErr) {
				p.fail(RuleRequestAgainAfterReturn, "data_return (%v) then data_request (%v) of page %#x", retErr, reqErr, off)
			}
			p.await(k, off, 4<<10)
		}
	}},
	{"UnaskedRepliesKeepSeqnoOrder", func(p *pagerRun) {
		// A kernel's lock_completed, supply_completed or change_completed
		// that the pager never asked for still holds a sequence number:
		// whatever the pager answers, the calls after it are served.
		k := p.kernel(4 << 10)
		k.call(mo.OpLockCompleted, 0, 4<<10, func(s mo.Seqno) error { return p.obj.LockCompleted(s, k, 0, 4<<10) })
		p.fetch(k, 0, 4<<10)
		k.call(mo.OpSupplyCompleted, 0, 4<<10, func(s mo.Seqno) error {
			return p.obj.SupplyCompleted(s, k, 0, 4<<10, nil, 0)
		})
		k.call(mo.OpChangeCompleted, 0, 0, func(s mo.Seqno) error { return p.obj.ChangeCompleted(s, k, mo.Attributes{}) })
		p.fetch(k, 4<<10, 8<<10)
	}},
	{"SynchronizeIsCompleted", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		p.fetch(k, 0, 16<<10)
		p.write(k, 0, 0x55)
		p.evict(k, 0)
		k.mu.Lock()
		k.syncs[0] = 16 << 10
		k.mu.Unlock()
		if err := k.call(mo.OpSynchronize, 0, 16<<10, func(s mo.Seqno) error { return p.obj.Synchronize(s, k, 0, 16<<10, mo.SyncSynchronous) }); !mo.Accepted(err) {
			p.fail(RuleSynchronize, "synchronize refused: %v", err)
		}
		k.waitFor(RuleSynchronize, "synchronize_completed", func() bool { return len(k.syncs) == 0 })
		p.fetch(k, 0, 4<<10)
	}},
	{"NoCallAfterTerminate", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		other := p.kernel(4 << 10)
		p.fetch(k, 0, 8<<10)
		p.write(k, 0, 0x66)
		p.evict(k, 0)
		// A request still outstanding when terminate comes: the pager may
		// answer it before Terminate returns, never after.
		if err := k.request(16<<10, 16<<10, mo.ProtRead); !mo.Accepted(err) {
			p.fail(RuleAnswerEachRequest, "data_request refused: %v", err)
		}
		if err := k.Terminate(); err != nil {
			p.fail(RuleNoCallAfterTerminate, "terminate refused: %v", err)
		}
		p.quiesce()
		p.check()
		// Calls on the terminated control are refused without an answer.
		k.mu.Lock()
		mark := len(k.answers)
		k.mu.Unlock()
		err := k.call(mo.OpDataRequest, 0, 4<<10, func(s mo.Seqno) error { return p.obj.DataRequest(s, k, 0, 4<<10, mo.ProtRead) })
		if mo.Accepted(err) {
			p.fail(RuleNoCallAfterTerminate, "data_request on a terminated control accepted")
		}
		p.expectNoAnswers(k, mark, RuleNoCallAfterTerminate, "answer on a terminated control")
		// The object lives on for the other kernel, with the data.
		p.fetch(other, 0, 8<<10)
	}},
	{"DestroyIsFollowedByTerminate", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		p.fetch(k, 0, 8<<10)
		if err := p.cfg.Destroy(p.obj, mo.KernAborted); err != nil {
			p.fail(RuleDestroyThenTerminate, "destroy failed: %v", err)
		}
		k.waitFor(RuleDestroyThenTerminate, "destroy", func() bool { return k.destroyed })
		select {
		case <-k.termDone:
		case <-time.After(p.timeout):
			p.fail(RuleDestroyThenTerminate, "terminate did not return within %v", p.timeout)
		}
		p.quiesce()
	}},
	{"FlushWithWriteLockBeforeDestroyReturnsDirtyData", func(p *pagerRun) {
		k := p.kernel(4 << 10)
		p.fetch(k, 0, 16<<10)
		p.write(k, 4<<10, 0x77)
		p.write(k, 12<<10, 0x78)
		k.mu.Lock()
		want := map[mo.Offset][]byte{}
		for _, off := range []mo.Offset{4 << 10, 12 << 10} {
			want[off] = append([]byte(nil), k.pages[off].data...)
		}
		k.mu.Unlock()
		if err := p.cfg.Destroy(p.obj, mo.KernAborted); err != nil {
			p.fail(RuleFlushBeforeDestroy, "destroy failed: %v", err)
		}
		k.waitFor(RuleDestroyThenTerminate, "destroy", func() bool { return k.destroyed })
		<-k.termDone
		k.mu.Lock()
		defer k.mu.Unlock()
		flushed := false
		for _, l := range k.locks {
			if l.Flush && l.Lock&mo.ProtWrite != 0 && l.Policy != mo.ReturnNone {
				flushed = true
			}
		}
		if !flushed {
			p.fail(RuleFlushBeforeDestroy, "no lock_request with should_flush, a write lock and a return policy before destroy")
		}
		for off, data := range want {
			if !bytes.Equal(k.returned[off], data) {
				p.fail(RuleFlushBeforeDestroy, "dirty page %#x was not returned before destroy", off)
			}
		}
	}},
}
