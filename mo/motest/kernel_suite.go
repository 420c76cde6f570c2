package motest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
)

// Kernel is the harness through which the kernel scenarios reach a kernel
// under test. An adapter over vm implements it in a few lines.
type Kernel interface {
	// PageSize returns the page size the kernel gives its pagers at Init.
	PageSize() mo.Size
	// Map maps size bytes of obj and returns a window on it. The first
	// mapping of an object sends Init; an Init refused may make Map fail,
	// or the accesses through the region.
	Map(obj mo.Object, size mo.Size) (Region, error)
}

// Region is one mapping of an object in a kernel under test.
type Region interface {
	// ReadAt and WriteAt access the object's data as a program would,
	// faulting pages in: they wait for the pager's answer, and fail (without
	// hanging) for a page the pager answered with data_error, or whose
	// object was destroyed or whose init was refused.
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	// Evict pages out every resident page of the object, as memory
	// pressure would: dirty and precious pages go back with data_return,
	// clean non-precious ones are dropped.
	Evict() error
	// Unmap removes the mapping; the last one sends Terminate.
	Unmap() error
}

// Syncer is implemented by a Region that can synchronise a range (msync
// with VM_SYNC_SYNCHRONOUS): return its dirty pages, send synchronize, and
// wait for synchronize_completed. The SynchronizeIsCompleted scenario needs
// it and passes trivially without it.
type Syncer interface {
	Sync(off int64, n int) error
}

// KernelConfig describes a kernel to TestKernel.
type KernelConfig struct {
	// New makes a fresh kernel with the page size.
	New func(pageSize mo.Size) (Kernel, error)
	// PageSizes lists page sizes the kernel supports; the first is used by
	// single-kernel scenarios, and a second, if given, for the other kernel
	// of InitOncePerKernelWithItsPageSize.
	PageSizes []mo.Size
	// Timeout bounds each wait; zero means 5 seconds.
	Timeout time.Duration
	// Trace, if set, records the calls the scripted pager sees.
	Trace *mo.Trace
}

// kernelObjectSize is the size of the objects the kernel scenarios map.
const kernelObjectSize = 1 << 20

type kernelRun struct {
	*run
	cfg       KernelConfig
	ps        mo.Size
	p         *Pager
	quiescers []Quiescer
}

type kernelScenario struct {
	name string
	fn   func(r *kernelRun)
}

// KernelScenarios returns the names of the kernel scenarios in the order
// TestKernel runs them.
func KernelScenarios() []string {
	var names []string
	for _, s := range kernelScenarios {
		names = append(names, s.name)
	}
	return names
}

// TestKernel runs every kernel scenario against cfg as a subtest.
func TestKernel(t *testing.T, cfg KernelConfig) {
	t.Helper()
	for _, s := range kernelScenarios {
		t.Run(s.name, func(t *testing.T) {
			if err := RunKernelScenario(cfg, s.name); err != nil {
				t.Error(err)
			}
		})
	}
}

// RunKernelScenario runs one named kernel scenario and returns its first
// violation, or nil. An unknown name gives KernInvalidArgument.
func RunKernelScenario(cfg KernelConfig, name string) error {
	if len(cfg.PageSizes) == 0 {
		return mo.KernInvalidArgument
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	for _, s := range kernelScenarios {
		if s.name != name {
			continue
		}
		r := &kernelRun{run: &run{scenario: name, timeout: cfg.Timeout, trace: cfg.Trace}, cfg: cfg, ps: cfg.PageSizes[0]}
		r.p = newPager(r.run, kernelObjectSize)
		return r.do(func() { s.fn(r); r.check() })
	}
	return mo.KernInvalidArgument
}

func (r *kernelRun) kernel(ps mo.Size) Kernel {
	k, err := r.cfg.New(ps)
	if err != nil {
		r.fail(RuleInitOncePerKernel, "cannot make a kernel with page size %#x: %v", ps, err)
	}
	if q, ok := k.(Quiescer); ok {
		r.quiescers = append(r.quiescers, q)
	}
	return k
}

func (r *kernelRun) mapObj(k Kernel) Region {
	reg, err := k.Map(r.p, kernelObjectSize)
	if err != nil {
		r.fail(RuleInitOncePerKernel, "map failed: %v", err)
	}
	return reg
}

// syncPager makes the scripted pager answer data requests inside the call.
func (r *kernelRun) syncPager(precious bool) {
	r.p.setRespond(func(c Call) error {
		if c.Op == mo.OpDataRequest {
			if err := r.p.supply(c.Ctl, c.Offset, c.Size, precious); err != nil {
				r.violate(RuleAnswersRefused, "data_supply answering %v refused: %v", c, err)
			}
		}
		return nil
	})
}

type ioResult struct {
	data []byte
	err  error
}

// goRead reads in a goroutine, as a faulting thread would.
func goRead(reg Region, off mo.Offset, n int) <-chan ioResult {
	ch := make(chan ioResult, 1)
	go func() {
		b := make([]byte, n)
		_, err := reg.ReadAt(b, int64(off))
		ch <- ioResult{b, err}
	}()
	return ch
}

func (r *kernelRun) wait(ch <-chan ioResult, what string) ioResult {
	select {
	case res := <-ch:
		return res
	case <-time.After(r.timeout):
		r.fail(RuleAnswerEachRequest, "%s did not finish within %v", what, r.timeout)
	}
	panic("unreachable")
}

// read reads through the region and checks the data against the pager's
// store.
func (r *kernelRun) read(reg Region, off mo.Offset, n int, rule string) {
	res := r.wait(goRead(reg, off, n), "read")
	if res.err != nil {
		r.fail(rule, "read of %#x bytes at %#x failed: %v", n, off, res.err)
	}
	if want := r.p.data(off, mo.Size(n)); !bytes.Equal(res.data, want) {
		r.fail(rule, "read of %#x bytes at %#x returned the wrong data", n, off)
	}
}

func (r *kernelRun) write(reg Region, off mo.Offset, data []byte) {
	ch := make(chan error, 1)
	go func() { _, err := reg.WriteAt(data, int64(off)); ch <- err }()
	select {
	case err := <-ch:
		if err != nil {
			r.fail(RuleAnswerEachRequest, "write at %#x failed: %v", off, err)
		}
	case <-time.After(r.timeout):
		r.fail(RuleAnswerEachRequest, "write at %#x did not finish within %v", off, r.timeout)
	}
}

func (r *kernelRun) quiesce() {
	for _, q := range r.quiescers {
		q.Quiesce()
	}
}

func pattern(n int, b byte) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = b ^ byte(i>>3)
	}
	return d
}

// answerWith runs fn on the scenario's goroutine for the next data request
// at off.
func (r *kernelRun) request(from *int, off mo.Offset) Call {
	return r.p.waitCall(from, "data_request", func(c Call) bool {
		return c.Op == mo.OpDataRequest && c.Offset <= off && off < c.Offset+mo.Offset(c.Size)
	})
}

var kernelScenarios = []kernelScenario{
	{"InitOncePerKernelWithItsPageSize", func(r *kernelRun) {
		r.syncPager(false)
		ps2 := r.ps
		if len(r.cfg.PageSizes) > 1 {
			ps2 = r.cfg.PageSizes[1]
		}
		a, b := r.kernel(r.ps), r.kernel(ps2)
		a1, a2, b1 := r.mapObj(a), r.mapObj(a), r.mapObj(b)
		r.read(a1, 0, 100, RuleAnswerEachRequest)
		r.read(a2, mo.Offset(r.ps), 100, RuleAnswerEachRequest)
		r.read(b1, 0, 100, RuleAnswerEachRequest)
		r.quiesce()
		r.p.mu.Lock()
		inits := map[mo.Control]mo.Size{}
		for _, c := range r.p.calls {
			if c.Op == mo.OpInit {
				inits[c.Ctl] = c.Size
			}
		}
		r.p.mu.Unlock()
		if len(inits) != 2 {
			r.fail(RuleInitOncePerKernel, "%d inits for two kernels mapping the object (three mappings)", len(inits))
		}
		sizes := map[mo.Size]int{}
		for _, s := range inits {
			sizes[s]++
		}
		if sizes[r.ps] == 0 || sizes[ps2] == 0 {
			r.fail(RuleInitOncePerKernel, "init page sizes %v, want %#x and %#x", sizes, r.ps, ps2)
		}
	}},
	{"InitErrorDropsControl", func(r *kernelRun) {
		r.syncPager(false)
		r.p.mu.Lock()
		r.p.initRes = mo.KernFailure
		r.p.mu.Unlock()
		k := r.kernel(r.ps)
		reg, err := k.Map(r.p, kernelObjectSize)
		if err == nil {
			res := r.wait(goRead(reg, 0, 16), "read of an object whose init was refused")
			if res.err == nil {
				r.fail(RuleInitErrorDropsControl, "read succeeded although init was refused")
			}
			reg.Unmap()
		}
		r.quiesce()
		if n := r.p.count(0, mo.OpInit); n != 1 {
			r.fail(RuleInitErrorDropsControl, "%d inits, want 1", n)
		}
	}},
	{"ReadyAnsweredLater", func(r *kernelRun) {
		// Init is answered with MIG_NO_REPLY and ready comes later from
		// another goroutine; no data_request may come before it (checked on
		// every call), and the waiting read then completes.
		r.syncPager(false)
		r.p.mu.Lock()
		r.p.initRes, r.p.ready = mo.MigNoReply, false
		r.p.mu.Unlock()
		reg := r.mapObj(r.kernel(r.ps))
		ch := goRead(reg, mo.Offset(r.ps), 32)
		from := 0
		ctl := r.p.waitCall(&from, "init", func(c Call) bool { return c.Op == mo.OpInit }).Ctl
		done := make(chan error, 1)
		go func() {
			r.p.markReady(ctl)
			done <- ctl.Ready(mo.Attributes{CopyStrategy: mo.CopyDelay})
		}()
		if err := <-done; err != nil {
			r.fail(RuleReadyBeforeRequests, "ready refused: %v", err)
		}
		if res := r.wait(ch, "read waiting for ready"); res.err != nil || !bytes.Equal(res.data, r.p.data(mo.Offset(r.ps), 32)) {
			r.fail(RuleReadyBeforeRequests, "read waiting for ready: %v or wrong data", res.err)
		}
	}},
	{"AnsweredInsideCall", func(r *kernelRun) {
		r.syncPager(false)
		reg := r.mapObj(r.kernel(r.ps))
		r.read(reg, 0, int(4*r.ps), RuleAnswerEachRequest)
		r.read(reg, mo.Offset(kernelObjectSize-r.ps), int(r.ps), RuleAnswerEachRequest)
		d := pattern(int(r.ps), 7)
		r.write(reg, mo.Offset(8*r.ps), d)
		res := r.wait(goRead(reg, mo.Offset(8*r.ps), int(r.ps)), "read")
		if !bytes.Equal(res.data, d) {
			r.fail(RuleAnswerEachRequest, "written data did not read back")
		}
	}},
	{"AnsweredLater", func(r *kernelRun) {
		reg := r.mapObj(r.kernel(r.ps))
		from := 0
		ch := goRead(reg, mo.Offset(3*r.ps), 64)
		c := r.request(&from, mo.Offset(3*r.ps))
		// Answered from another goroutine than the call's.
		done := make(chan error, 1)
		go func() { done <- r.p.supply(c.Ctl, c.Offset, c.Size, false) }()
		if err := <-done; err != nil {
			r.fail(RuleAnswersRefused, "data_supply answering %v refused: %v", c, err)
		}
		res := r.wait(ch, "read answered later")
		if res.err != nil || !bytes.Equal(res.data, r.p.data(mo.Offset(3*r.ps), 64)) {
			r.fail(RuleAnswerEachRequest, "read answered later: %v or wrong data", res.err)
		}
	}},
	{"AnsweredOutOfOrder", func(r *kernelRun) {
		reg := r.mapObj(r.kernel(r.ps))
		from := 0
		a := goRead(reg, mo.Offset(1*r.ps), 32)
		ca := r.request(&from, mo.Offset(1*r.ps))
		b := goRead(reg, mo.Offset(9*r.ps), 32)
		from2 := 0
		cb := r.request(&from2, mo.Offset(9*r.ps))
		if err := r.p.supply(cb.Ctl, cb.Offset, cb.Size, false); err != nil {
			r.fail(RuleAnswersRefused, "data_supply answering %v refused: %v", cb, err)
		}
		if res := r.wait(b, "second read"); res.err != nil || !bytes.Equal(res.data, r.p.data(mo.Offset(9*r.ps), 32)) {
			r.fail(RuleAnswerEachRequest, "second read, answered first: %v or wrong data", res.err)
		}
		if err := r.p.supply(ca.Ctl, ca.Offset, ca.Size, false); err != nil {
			r.fail(RuleAnswersRefused, "data_supply answering %v refused: %v", ca, err)
		}
		if res := r.wait(a, "first read"); res.err != nil || !bytes.Equal(res.data, r.p.data(mo.Offset(1*r.ps), 32)) {
			r.fail(RuleAnswerEachRequest, "first read, answered last: %v or wrong data", res.err)
		}
	}},
	{"AnsweredTwiceIsRefused", func(r *kernelRun) {
		r.syncPager(false)
		reg := r.mapObj(r.kernel(r.ps))
		from := 0
		r.read(reg, 0, 16, RuleAnswerEachRequest)
		c := r.request(&from, 0)
		d := pattern(int(r.ps), 0x21)
		r.write(reg, 0, d)
		if err := r.p.supply(c.Ctl, c.Offset, c.Size, false); err == nil {
			r.fail(RuleAnswersRefused, "a second data_supply for resident page %#x was accepted", c.Offset)
		}
		// The object's last page: nobody asked for it (it exists for
		// 4 KiB and 64 KiB pages alike).
		last := mo.Offset(kernelObjectSize) - mo.Offset(r.ps)
		if err := c.Ctl.DataSupply(last, pattern(int(r.ps), 0x99), mo.ProtNone, false, false); err == nil {
			r.fail(RuleAnswersRefused, "data_supply for page %#x, which nobody asked for, was accepted", last)
		}
		res := r.wait(goRead(reg, 0, int(r.ps)), "read")
		if !bytes.Equal(res.data, d) {
			r.fail(RuleAnswersRefused, "a second answer changed the data of a resident page")
		}
		r.read(reg, last, int(r.ps), RuleAnswersRefused)
	}},
	{"AnsweredWithError", func(r *kernelRun) {
		reg := r.mapObj(r.kernel(r.ps))
		from := 0
		a := goRead(reg, mo.Offset(2*r.ps), 16)
		c := r.request(&from, mo.Offset(2*r.ps))
		if err := c.Ctl.DataError(c.Offset, c.Size, mo.KernMemoryFailure); err != nil {
			r.fail(RuleAnswersRefused, "data_error refused: %v", err)
		}
		if res := r.wait(a, "read of a page in error"); res.err == nil {
			r.fail(RuleAnswerEachRequest, "read of a page answered with data_error succeeded")
		}
		b := goRead(reg, mo.Offset(5*r.ps), int(r.ps))
		c = r.request(&from, mo.Offset(5*r.ps))
		if err := c.Ctl.DataUnavailable(c.Offset, c.Size); err != nil {
			r.fail(RuleAnswersRefused, "data_unavailable refused: %v", err)
		}
		if res := r.wait(b, "read of an unavailable page"); res.err != nil || !bytes.Equal(res.data, make([]byte, r.ps)) {
			r.fail(RuleAnswerEachRequest, "a page answered with data_unavailable does not read as zeros (%v)", res.err)
		}
	}},
	{"NeverAnsweredBlocksOnlyItsPage", func(r *kernelRun) {
		reg := r.mapObj(r.kernel(r.ps))
		from := 0
		stuck := goRead(reg, mo.Offset(4*r.ps), 16)
		cs := r.request(&from, mo.Offset(4*r.ps))
		r.syncPager(false)
		r.read(reg, mo.Offset(12*r.ps), 16, RuleAnswerEachRequest)
		select {
		case res := <-stuck:
			r.fail(RuleAnswerEachRequest, "read of a page never answered returned (%v)", res.err)
		default:
		}
		// Release the waiting reader.
		cs.Ctl.DataError(cs.Offset, cs.Size, mo.KernAborted)
		r.wait(stuck, "read released by data_error")
	}},
	{"WrongSizeIsRefused", func(r *kernelRun) {
		reg := r.mapObj(r.kernel(r.ps))
		from := 0
		a := goRead(reg, mo.Offset(6*r.ps), 16)
		c := r.request(&from, mo.Offset(6*r.ps))
		good := r.p.data(c.Offset, mo.Size(r.ps))
		for _, bad := range []struct {
			off mo.Offset
			n   int
			why string
		}{
			{c.Offset, int(r.ps) / 2, "half a page"},
			{c.Offset + 1, int(r.ps), "an unaligned offset"},
			{c.Offset, 0, "no data"},
			{kernelObjectSize, int(r.ps), "an offset beyond the object"},
		} {
			err := c.Ctl.DataSupply(bad.off, good[:min(bad.n, len(good))], mo.ProtNone, false, false)
			if bad.n > len(good) {
				err = c.Ctl.DataSupply(bad.off, make([]byte, bad.n), mo.ProtNone, false, false)
			}
			if !errors.Is(err, mo.KernInvalidArgument) {
				r.fail(RuleAnswersRefused, "data_supply with %v: got %v, want KERN_INVALID_ARGUMENT", bad.why, err)
			}
		}
		if err := c.Ctl.DataUnavailable(c.Offset, 0); !errors.Is(err, mo.KernInvalidArgument) {
			r.fail(RuleAnswersRefused, "data_unavailable of size 0: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		if err := c.Ctl.LockRequest(0, mo.Size(r.ps)/2, mo.ReturnNone, false, mo.ProtNone, false); !errors.Is(err, mo.KernInvalidArgument) {
			r.fail(RuleAnswersRefused, "lock_request of half a page: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		if err := r.p.supply(c.Ctl, c.Offset, c.Size, false); err != nil {
			r.fail(RuleAnswersRefused, "a good data_supply after bad ones refused: %v", err)
		}
		if res := r.wait(a, "read"); res.err != nil || !bytes.Equal(res.data, good[:16]) {
			r.fail(RuleAnswersRefused, "bad answers changed the data (%v)", res.err)
		}
	}},
	{"DataReturnOnlyDirtyOrPrecious", func(r *kernelRun) {
		reg := r.mapObj(r.kernel(r.ps))
		precious := map[mo.Offset]bool{mo.Offset(r.ps): true, mo.Offset(3 * r.ps): true}
		r.p.setRespond(func(c Call) error {
			if c.Op == mo.OpDataRequest {
				for off := c.Offset; off < c.Offset+mo.Offset(c.Size); off += mo.Offset(r.ps) {
					r.p.supply(c.Ctl, off, r.ps, precious[off])
				}
			}
			return nil
		})
		for i := 0; i < 4; i++ {
			r.read(reg, mo.Offset(i)*mo.Offset(r.ps), 8, RuleAnswerEachRequest)
		}
		d := pattern(int(r.ps), 0x31)
		r.write(reg, mo.Offset(2*r.ps), d)
		mark := r.p.mark()
		if err := reg.Evict(); err != nil {
			r.fail(RuleDataReturnOnlyDirtyOrPrec, "evict: %v", err)
		}
		r.quiesce()
		r.check()
		got := map[mo.Offset]bool{}
		r.p.mu.Lock()
		for _, c := range r.p.calls[mark:] {
			if c.Op != mo.OpDataReturn {
				continue
			}
			for off := c.Offset; off < c.Offset+mo.Offset(c.Size); off += mo.Offset(r.ps) {
				got[off] = c.Dirty
			}
			if c.Offset <= mo.Offset(2*r.ps) && mo.Offset(2*r.ps) < c.Offset+mo.Offset(c.Size) {
				if !bytes.Equal(c.Data[mo.Offset(2*r.ps)-c.Offset:][:r.ps], d) {
					r.p.mu.Unlock()
					r.fail(RuleDataReturnOnlyDirtyOrPrec, "the dirty page came back with the wrong data")
				}
			}
		}
		r.p.mu.Unlock()
		for off, dirty := range map[mo.Offset]bool{mo.Offset(r.ps): false, mo.Offset(2 * r.ps): true, mo.Offset(3 * r.ps): false} {
			if d, ok := got[off]; !ok || d != dirty {
				r.fail(RuleDataReturnOnlyDirtyOrPrec, "page %#x (dirty %v) not returned as such on eviction (returned %v, dirty %v)", off, dirty, ok, d)
			}
		}
	}},
	{"PageMayBeRequestedAgainAfterDataReturn", func(r *kernelRun) {
		r.syncPager(false)
		reg := r.mapObj(r.kernel(r.ps))
		for round := 0; round < 4; round++ {
			off := mo.Offset(round%2) * mo.Offset(r.ps)
			r.read(reg, off, 8, RuleAnswerEachRequest)
			d := pattern(int(r.ps), byte(0x40+round))
			r.write(reg, off, d)
			from := r.p.mark()
			if err := reg.Evict(); err != nil {
				r.fail(RuleRequestAgainAfterReturn, "evict: %v", err)
			}
			ret := r.p.waitCall(&from, "data_return", func(c Call) bool {
				return c.Op == mo.OpDataReturn && c.Offset <= off && off < c.Offset+mo.Offset(c.Size)
			})
			res := r.wait(goRead(reg, off, int(r.ps)), "read after data_return")
			if res.err != nil || !bytes.Equal(res.data, d) {
				r.fail(RuleRequestAgainAfterReturn, "page %#x read after its data_return: %v or wrong data", off, res.err)
			}
			req := r.request(&from, off)
			if req.Seqno <= ret.Seqno {
				r.fail(RuleRequestAgainAfterReturn, "data_request seqno %d not after data_return seqno %d", req.Seqno, ret.Seqno)
			}
		}
	}},
	{"LockRequestReturnsAndReplies", func(r *kernelRun) {
		r.syncPager(false)
		reg := r.mapObj(r.kernel(r.ps))
		r.read(reg, 0, int(4*r.ps), RuleAnswerEachRequest)
		d := pattern(int(r.ps), 0x51)
		r.write(reg, mo.Offset(r.ps), d)
		from := 0
		ctl := r.p.waitCall(&from, "init", func(c Call) bool { return c.Op == mo.OpInit }).Ctl
		mark := r.p.mark()
		if err := ctl.LockRequest(0, 4*r.ps, mo.ReturnDirty, false, mo.ProtNone, true); err != nil {
			r.fail(RuleLockRequest, "lock_request refused: %v", err)
		}
		ret := r.p.waitCall(&mark, "data_return of the dirty page", func(c Call) bool { return c.Op == mo.OpDataReturn })
		if ret.Offset != mo.Offset(r.ps) || !ret.Dirty || !bytes.Equal(ret.Data[:r.ps], d) {
			r.fail(RuleLockRequest, "lock_request returned %v, want the dirty page %#x", ret, r.ps)
		}
		r.p.waitCall(&mark, "lock_completed", func(c Call) bool { return c.Op == mo.OpLockCompleted && c.Offset == 0 && c.Size == 4*r.ps })
		// Not flushed: the pages stay resident.
		before := r.p.count(0, mo.OpDataRequest)
		r.read(reg, 0, int(4*r.ps), RuleLockRequest)
		if r.p.count(0, mo.OpDataRequest) != before {
			r.fail(RuleLockRequest, "lock_request without should_flush dropped pages")
		}
	}},
	{"WriteToLockedPageSendsDataUnlock", func(r *kernelRun) {
		// Pages supplied with a write lock read freely; a write sends
		// data_unlock, which the scripted pager answers with lock_request
		// lifting the lock, and the write then completes.
		r.p.setRespond(func(c Call) error {
			if c.Op == mo.OpDataRequest {
				c.Ctl.DataSupply(c.Offset, r.p.data(c.Offset, c.Size), mo.ProtWrite, false, false)
			}
			return nil
		})
		reg := r.mapObj(r.kernel(r.ps))
		r.read(reg, 0, int(r.ps), RuleLockRequest)
		if n := r.p.count(0, mo.OpDataUnlock); n != 0 {
			r.fail(RuleLockRequest, "a read of a write-locked page sent %d data_unlock", n)
		}
		d := pattern(int(r.ps), 0x91)
		r.write(reg, 0, d)
		from := 0
		u := r.p.waitCall(&from, "data_unlock", func(c Call) bool { return c.Op == mo.OpDataUnlock })
		if u.Offset != 0 || u.Prot&mo.ProtWrite == 0 {
			r.fail(RuleLockRequest, "data_unlock %v asks for %v, want write at 0", u, u.Prot)
		}
		res := r.wait(goRead(reg, 0, int(r.ps)), "read after unlock")
		if !bytes.Equal(res.data, d) {
			r.fail(RuleLockRequest, "the write after data_unlock did not land")
		}
	}},
	{"RepliesAreSent", func(r *kernelRun) {
		// data_supply, lock_request and change_attributes with reply set
		// are answered with supply_completed, lock_completed and
		// change_completed; get_attributes reports the change.
		reg := r.mapObj(r.kernel(r.ps))
		from := 0
		ch := goRead(reg, mo.Offset(7*r.ps), 8)
		c := r.request(&from, mo.Offset(7*r.ps))
		if err := c.Ctl.DataSupply(c.Offset, r.p.data(c.Offset, c.Size), mo.ProtNone, false, true); err != nil {
			r.fail(RuleAnswersRefused, "data_supply with reply refused: %v", err)
		}
		r.p.waitCall(&from, "supply_completed", func(x Call) bool { return x.Op == mo.OpSupplyCompleted && x.Offset == c.Offset })
		r.wait(ch, "read")
		attr := mo.Attributes{MayCache: false, CopyStrategy: mo.CopyCall, ClusterSize: 2 * r.ps}
		if err := c.Ctl.ChangeAttributes(attr, true); err != nil {
			r.fail(RuleAnswersRefused, "change_attributes refused: %v", err)
		}
		r.p.waitCall(&from, "change_completed", func(x Call) bool { return x.Op == mo.OpChangeCompleted })
		if got, err := c.Ctl.GetAttributes(); err != nil || got != attr {
			r.fail(RuleAnswersRefused, "get_attributes = %+v, %v; want %+v", got, err, attr)
		}
		if err := c.Ctl.ChangeAttributes(mo.Attributes{CopyStrategy: 99}, false); !errors.Is(err, mo.KernInvalidArgument) {
			r.fail(RuleAnswersRefused, "change_attributes with an unknown copy strategy: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		if err := c.Ctl.LockRequest(0, r.ps, mo.ReturnNone, false, mo.ProtNone, true); err != nil {
			r.fail(RuleLockRequest, "lock_request refused: %v", err)
		}
		r.p.waitCall(&from, "lock_completed", func(x Call) bool { return x.Op == mo.OpLockCompleted })
	}},
	{"SynchronizeIsCompleted", func(r *kernelRun) {
		r.syncPager(false)
		reg := r.mapObj(r.kernel(r.ps))
		sy, ok := reg.(Syncer)
		if !ok {
			return
		}
		r.read(reg, 0, int(2*r.ps), RuleAnswerEachRequest)
		d := pattern(int(r.ps), 0xa1)
		r.write(reg, mo.Offset(r.ps), d)
		from := r.p.mark()
		done := make(chan error, 1)
		go func() { done <- sy.Sync(0, int(2*r.ps)) }()
		select {
		case err := <-done:
			if err != nil {
				r.fail(RuleSynchronize, "sync: %v", err)
			}
		case <-time.After(r.timeout):
			r.fail(RuleSynchronize, "sync did not finish within %v", r.timeout)
		}
		ret := r.p.waitCall(&from, "data_return of the dirty page", func(c Call) bool { return c.Op == mo.OpDataReturn })
		sc := r.p.waitCall(&from, "synchronize", func(c Call) bool { return c.Op == mo.OpSynchronize })
		if ret.Offset != mo.Offset(r.ps) || !ret.Dirty || !bytes.Equal(ret.Data[:r.ps], d) || sc.Seqno < ret.Seqno {
			r.fail(RuleSynchronize, "synchronize %v after data_return %v: want the dirty page returned first", sc, ret)
		}
		if sc.Offset != 0 || sc.Size != 2*r.ps {
			r.fail(RuleSynchronize, "synchronize %v, want offset 0 size %#x", sc, 2*r.ps)
		}
		if err := ret.Ctl.SynchronizeCompleted(0, r.ps); err == nil {
			r.fail(RuleSynchronize, "a synchronize_completed that answers nothing was accepted")
		}
	}},
	{"DestroyIsFollowedByTerminate", func(r *kernelRun) {
		r.syncPager(false)
		reg := r.mapObj(r.kernel(r.ps))
		r.read(reg, 0, 16, RuleAnswerEachRequest)
		from := 0
		ctl := r.p.waitCall(&from, "init", func(c Call) bool { return c.Op == mo.OpInit }).Ctl
		if err := ctl.Destroy(mo.KernAborted); err != nil {
			r.fail(RuleDestroyThenTerminate, "destroy refused: %v", err)
		}
		r.p.waitCall(&from, "terminate after destroy", func(c Call) bool { return c.Op == mo.OpTerminate && c.Ctl == ctl })
		if res := r.wait(goRead(reg, mo.Offset(r.ps), 16), "read after destroy"); res.err == nil {
			r.fail(RuleDestroyThenTerminate, "read of a destroyed object succeeded")
		}
		if err := ctl.DataSupply(0, r.p.data(0, r.ps), mo.ProtNone, false, false); !errors.Is(err, mo.KernTerminated) {
			r.fail(RuleNoCallAfterTerminate, "data_supply on a terminated control: got %v, want KERN_TERMINATED", err)
		}
		reg.Unmap()
		r.quiesce()
	}},
	{"FlushWithWriteLockBeforeDestroyReturnsDirtyData", func(r *kernelRun) {
		r.syncPager(false)
		reg := r.mapObj(r.kernel(r.ps))
		r.read(reg, 0, int(3*r.ps), RuleAnswerEachRequest)
		d0, d2 := pattern(int(r.ps), 0x61), pattern(int(r.ps), 0x62)
		r.write(reg, 0, d0)
		r.write(reg, mo.Offset(2*r.ps), d2)
		from := 0
		ctl := r.p.waitCall(&from, "init", func(c Call) bool { return c.Op == mo.OpInit }).Ctl
		mark := r.p.mark()
		if err := ctl.LockRequest(0, kernelObjectSize, mo.ReturnDirty, true, mo.ProtWrite, true); err != nil {
			r.fail(RuleFlushBeforeDestroy, "lock_request refused: %v", err)
		}
		r.p.waitCall(&mark, "lock_completed", func(c Call) bool { return c.Op == mo.OpLockCompleted })
		if err := ctl.Destroy(mo.KernAborted); err != nil {
			r.fail(RuleDestroyThenTerminate, "destroy refused: %v", err)
		}
		r.p.waitCall(&from, "terminate after destroy", func(c Call) bool { return c.Op == mo.OpTerminate })
		if !bytes.Equal(r.p.data(0, r.ps), d0) || !bytes.Equal(r.p.data(mo.Offset(2*r.ps), r.ps), d2) {
			r.fail(RuleFlushBeforeDestroy, "the dirty pages did not reach the pager before terminate")
		}
		reg.Unmap()
		r.quiesce()
	}},
	{"NoCallAfterTerminate", func(r *kernelRun) {
		r.syncPager(false)
		k := r.kernel(r.ps)
		reg := r.mapObj(k)
		r.read(reg, 0, int(2*r.ps), RuleAnswerEachRequest)
		d := pattern(int(r.ps), 0x71)
		r.write(reg, mo.Offset(r.ps), d)
		from := 0
		ctl := r.p.waitCall(&from, "init", func(c Call) bool { return c.Op == mo.OpInit }).Ctl
		if err := reg.Unmap(); err != nil {
			r.fail(RuleNoCallAfterTerminate, "unmap: %v", err)
		}
		r.p.waitCall(&from, "terminate after the last unmap", func(c Call) bool { return c.Op == mo.OpTerminate && c.Ctl == ctl })
		if err := ctl.DataSupply(0, r.p.data(0, r.ps), mo.ProtNone, false, false); !errors.Is(err, mo.KernTerminated) {
			r.fail(RuleNoCallAfterTerminate, "data_supply on a terminated control: got %v, want KERN_TERMINATED", err)
		}
		if err := ctl.LockRequest(0, r.ps, mo.ReturnAll, true, mo.ProtWrite, true); !errors.Is(err, mo.KernTerminated) {
			r.fail(RuleNoCallAfterTerminate, "lock_request on a terminated control: got %v, want KERN_TERMINATED", err)
		}
		// Mapping again is a new init with a new control, and the data
		// written before is there (returned before terminate).
		reg = r.mapObj(k)
		r.read(reg, mo.Offset(r.ps), int(r.ps), RuleDataReturnOnlyDirtyOrPrec)
		reg.Unmap()
		r.quiesce()
	}},
}
