package defaultpager

import (
	"fmt"
	"math/bits"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/store"
)

// Object is an object of the default pager. It implements
// mo.DefaultObject and mo.FaultSafe. One made by Create (anonymous memory)
// has one control and its pages are freed at its Terminate; one made by
// ObjectCreate is mapped by kernels through Init and keeps its pages until
// it is destroyed and every kernel terminated it.
type Object struct {
	mo.NoReplies

	p         *Pager
	id        ObjectID
	size      mo.Size
	temporary bool

	// kernels has one entry per control the object ever had, live or
	// terminated (dead); finding a control takes no lock and allocates
	// nothing. A kernel is marked dead under p.mu.
	kernels mo.Kernels[kernelState]

	// All protected by p.mu.
	slots     []uint64 // per page of the pager's size: slot reference or 0
	stored    int      // non-zero references
	destroyed bool
	gone      bool // slots freed; dropped from p.objects by the next newObject
}

// kernelState is the pager's state for one kernel.
type kernelState struct {
	inflight int      // protected by p.mu: answers under way, pending pages included
	pending  []uint64 // protected by p.mu: kernel pages whose page-in waits for a reserve buffer
}

type kernel = mo.Kernel[kernelState]

type jobKind uint8

const (
	jobRequest jobKind = iota
	jobSync
)

type job struct {
	kind   jobKind
	o      *Object
	k      *kernel
	ctl    mo.Control
	offset mo.Offset
	length mo.Size
}

var _ mo.DefaultObject = (*Object)(nil)

// newObject makes an object and lists it.
// Preconditions: p.admin is held.
func (p *Pager) newObject(size, pageSize mo.Size, temporary bool) (*Object, error) {
	if mo.CheckPageSize(pageSize) != nil && pageSize != 0 {
		return nil, mo.KernInvalidArgument
	}
	if size == 0 || size%p.ps != 0 || (pageSize != 0 && size%pageSize != 0) || size > 1<<36 {
		return nil, mo.KernInvalidArgument
	}
	o := &Object{p: p, size: size, slots: make([]uint64, size/p.ps), temporary: temporary}
	o.Acknowledge = o.kernels.Acknowledge
	objs := make([]*Object, 0, len(p.objects)+1)
	p.mu.Lock()
	for _, x := range p.objects {
		if !x.gone {
			objs = append(objs, x)
		}
	}
	o.id = p.nextObj
	p.nextObj++
	p.objects = append(objs, o)
	p.mu.Unlock()
	return o, nil
}

func (p *Pager) kernelPageOK(ps mo.Size) bool {
	return mo.CheckPageSize(ps) == nil && ps%p.ps == 0 && ps <= p.maxPS
}

// newKernelState makes the state of a kernel of page size kps for o.
func (o *Object) newKernelState(kps mo.Size) kernelState {
	return kernelState{pending: make([]uint64, (o.size/kps+63)/64)}
}

// Create implements mo.DefaultPager (memory_object_create): an object of
// anonymous memory for ctl's kernel, which uses pageSize, a multiple of
// the pager's page size up to Config.MaxPageSize.
func (p *Pager) Create(ctl mo.Control, size, pageSize mo.Size) (mo.DefaultObject, error) {
	if ctl == nil || !p.kernelPageOK(pageSize) {
		return nil, mo.KernInvalidArgument
	}
	p.admin.Lock()
	o, err := p.newObject(size, pageSize, true)
	p.admin.Unlock()
	if err != nil {
		return nil, err
	}
	// Create is seqno 0, ctl's Init; newObject checked the sizes.
	k, err := o.kernels.Init(0, ctl, pageSize, func(kps mo.Size) (kernelState, error) { return o.newKernelState(kps), nil })
	if err == nil {
		err = ctl.Ready(p.attributes(mo.CopySymmetric, pageSize))
	}
	if err != nil {
		p.mu.Lock()
		if k != nil {
			o.kernels.Terminate(k)
		}
		p.forgetLocked(o)
		p.mu.Unlock()
		return nil, err
	}
	return o, nil
}

// ObjectCreate makes an object of size bytes that kernels map with Init
// (default_pager_object_create). Its contents start as zeros.
func (p *Pager) ObjectCreate(size mo.Size) (*Object, error) {
	p.admin.Lock()
	defer p.admin.Unlock()
	return p.newObject(size, 0, false)
}

// ID names the object in Objects and ObjectPages.
func (o *Object) ID() ObjectID { return o.id }

// forgetLocked frees o's slots and marks it gone; the next newObject
// drops it from p.objects (this allocates nothing).
// Preconditions: p.mu is held.
func (p *Pager) forgetLocked(o *Object) {
	if o.gone {
		return
	}
	o.gone = true
	for u, r := range o.slots {
		if r != 0 {
			p.releaseLocked(r)
			o.slots[u] = 0
		}
	}
	o.stored = 0
}

// liveLocked counts the live kernels. Preconditions: p.mu is held.
func (o *Object) liveLocked() int { return o.kernels.Live() }

// Init implements mo.Object for objects made by ObjectCreate. The page
// size must be a multiple of the pager's, up to Config.MaxPageSize, and
// divide the object's size; otherwise the control is dropped. The
// lifecycle errors are mo.Kernels'.
func (o *Object) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	p := o.p
	_, err := o.kernels.Init(seqno, ctl, pageSize, func(kps mo.Size) (kernelState, error) {
		p.mu.Lock()
		gone := o.gone
		p.mu.Unlock()
		if !p.kernelPageOK(kps) || o.size%kps != 0 || gone || o.temporary {
			return kernelState{}, mo.KernInvalidArgument
		}
		return o.newKernelState(kps), nil
	})
	if err != nil {
		return err
	}
	return ctl.Ready(p.attributes(mo.CopyDelay, pageSize))
}

// begin checks a range call on ctl, counts an answer under way, and
// leaves the turn. On error nothing is counted. On the fault path the
// turn is due (vm makes a call there only when no other call on the
// object is under way), so kernels.Enter does not wait.
func (o *Object) begin(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size) (*kernel, error) {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, length, o.size)
	if err != nil {
		return nil, err
	}
	o.p.mu.Lock()
	k.State.inflight++
	o.p.mu.Unlock()
	k.Leave(seqno)
	return k, nil
}

// done ends an answer begun by begin.
func (o *Object) done(k *kernel) {
	o.p.mu.Lock()
	k.State.inflight--
	o.p.cond.Broadcast()
	o.p.mu.Unlock()
}

// queue hands a job to the worker; false if the pager is synchronous or
// its queue is full.
func (p *Pager) queue(j job) bool {
	if p.jobs == nil {
		return false
	}
	p.busy.Add(1)
	select {
	case p.jobs <- j:
		return true
	default:
		p.busy.Done()
		return false
	}
}

func (p *Pager) worker() {
	for {
		select {
		case <-p.stop:
			return
		case j := <-p.jobs:
			p.do(j)
			p.busy.Done()
		}
	}
}

func (p *Pager) do(j job) {
	switch j.kind {
	case jobRequest:
		j.o.serve(j.k, j.ctl, j.offset, j.length)
	case jobSync:
		j.o.sync(j.k, j.ctl, j.offset, j.length)
	}
}

// DataRequest implements mo.Object: each kernel page is supplied from the
// stores, answered with data_unavailable if none of it was ever stored,
// or with data_error if a read fails.
func (o *Object) DataRequest(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	if !desired.Valid() {
		return o.refuse(seqno, ctl)
	}
	return o.start(seqno, job{kind: jobRequest, o: o, ctl: ctl, offset: offset, length: length})
}

// refuse takes and leaves the turn of a call with a malformed argument and
// refuses it with KernInvalidArgument, or with the error of a control the
// object does not know.
func (o *Object) refuse(seqno mo.Seqno, ctl mo.Control) error {
	if err := o.kernels.Acknowledge(seqno, ctl); err != nil {
		return err
	}
	return mo.KernInvalidArgument
}

// start begins the answer to a data request or synchronize and does it
// now, or queues it for the workers of an asynchronous pager.
func (o *Object) start(seqno mo.Seqno, j job) error {
	k, err := o.begin(seqno, j.ctl, j.offset, j.length)
	if err != nil {
		return err
	}
	j.k = k
	if !o.p.queue(j) {
		o.p.do(j)
	}
	return nil
}

// serve answers a data request and ends the answer begun for it. It
// never waits: a page for which no reserve buffer is free is left pending
// for the page-in that returns a buffer next (see the package
// documentation). No defer: it runs in the fault handler.
func (o *Object) serve(k *kernel, ctl mo.Control, offset mo.Offset, length mo.Size) {
	p := o.p
	kps := mo.Offset(k.PageSize())
	end := offset + mo.Offset(length)
	p.mu.Lock()
	for off := offset; off < end && !k.Dead(); off += kps {
		buf := p.takeBufLocked()
		if buf == nil {
			for ; off < end; off += kps {
				if o.pendLocked(k, off) {
					k.State.inflight++
					p.pending++
				}
			}
			break
		}
		n := o.runPagesLocked(k, off, end, len(buf))
		o.answerLocked(k, ctl, off, buf, n)
		off += kps * mo.Offset(n-1)
	}
	p.drainLocked()
	k.State.inflight--
	p.cond.Broadcast()
	p.mu.Unlock()
}

// pendLocked marks the kernel page at off pending; false if it already
// was. Preconditions: p.mu is held.
func (o *Object) pendLocked(k *kernel, off mo.Offset) bool {
	i := uint64(off) / uint64(k.PageSize())
	if k.State.pending[i/64]&(1<<(i%64)) != 0 {
		return false
	}
	k.State.pending[i/64] |= 1 << (i % 64)
	return true
}

// maxRun is the most pages moved with one store call: runs are tracked
// in 64-bit masks.
const maxRun = 64

// runPagesLocked counts the kernel pages from off (at least 1; before end,
// at most bufLen bytes and maxRun pager pages) whose pager pages all sit
// in consecutive slots of one segment over a store.RunStore, so that one
// ReadPages into one reserve buffer reads them all. Preconditions: p.mu
// is held.
func (o *Object) runPagesLocked(k *kernel, off, end mo.Offset, bufLen int) int {
	p := o.p
	units := int(k.PageSize() / p.ps)
	most := min(bufLen/int(k.PageSize()), int((end-off)/mo.Offset(k.PageSize())), maxRun/units)
	if most < 2 {
		return 1
	}
	u0 := int(off / mo.Offset(p.ps))
	r0 := o.slots[u0]
	if r0 == 0 {
		return 1
	}
	if _, ok := p.segs[segOf(r0)].st.(store.RunStore); !ok {
		return 1
	}
	sg := segOf(r0)
	j := 1
	for j < most*units && o.slots[u0+j] == r0+uint64(j) && segOf(r0+uint64(j)) == sg {
		j++
	}
	return max(1, j/units)
}

// runLocked counts the pager pages from unit u (at most most of them and
// maxRun) that sit in consecutive slots after o.slots[u], which is not 0,
// in one segment over a store.RunStore; 1 if the store is not one.
// Preconditions: p.mu is held.
func (o *Object) runLocked(u, most int) int {
	p := o.p
	r0 := o.slots[u]
	if _, ok := p.segs[segOf(r0)].st.(store.RunStore); !ok {
		return 1
	}
	sg := segOf(r0)
	j := 1
	for j < most && j < maxRun && o.slots[u+j] == r0+uint64(j) && segOf(r0+uint64(j)) == sg {
		j++
	}
	return j
}

// readLocked reads the n pager pages from slot reference r into b, with
// one ReadPages if n > 1. Preconditions: p.mu is held.
func (p *Pager) readLocked(r uint64, n int, b []byte) error {
	st := p.segs[segOf(r)].st
	if n == 1 {
		return st.ReadPage(slotOf(r), b)
	}
	return st.(store.RunStore).ReadPages(slotOf(r), b)
}

// answerLocked reads the n kernel pages from off into buf, answers each
// with mu released and gives buf back. The pager pages of a kernel page
// sitting in consecutive slots of a store.RunStore are read with one
// call; n > 1 only when runPagesLocked found them all in one such run.
// A failed read answers data_error for every kernel page it covers.
// Preconditions: p.mu is held, buf was taken from the reserve and holds n
// kernel pages, n <= maxRun.
func (o *Object) answerLocked(k *kernel, ctl mo.Control, off mo.Offset, buf []byte, n int) {
	p := o.p
	kps := int(k.PageSize())
	ps := int(p.ps)
	buf = buf[:n*kps]
	units := kps / ps
	u0 := int(off / mo.Offset(ps))
	var found, failed uint64 // bit i: kernel page i had a stored page, had a failed read
	var rerr error
	for i := 0; i < n*units; {
		r := o.slots[u0+i]
		if r == 0 {
			clear(buf[i*ps : (i+1)*ps])
			i++
			continue
		}
		m := o.runLocked(u0+i, n*units-i)
		for j := i / units; j <= (i+m-1)/units; j++ {
			found |= 1 << j
		}
		if err := p.readLocked(r, m, buf[i*ps:(i+m)*ps]); err != nil {
			p.stats.ReadErrors++
			rerr = err
			last := (i + m - 1) / units
			for j := i / units; j <= last; j++ {
				failed |= 1 << j
			}
			i = (last + 1) * units // the rest of a failed kernel page is not read
			continue
		}
		p.stats.PageIns += uint64(m)
		i += m
	}
	p.mu.Unlock()
	for j := 0; j < n; j++ {
		at := off + mo.Offset(j*kps)
		switch {
		case failed&(1<<j) != 0:
			ctl.DataError(at, k.PageSize(), rerr)
		case found&(1<<j) == 0:
			ctl.DataUnavailable(at, k.PageSize())
		default:
			ctl.DataSupply(at, buf[j*kps:(j+1)*kps], mo.ProtNone, false, false)
		}
	}
	p.mu.Lock()
	p.putBufLocked(buf)
}

// drainLocked answers pending pages while a reserve buffer is free; a
// dead kernel's pending pages are dropped. Preconditions: p.mu is held.
func (p *Pager) drainLocked() {
	for p.pending > 0 && len(p.bufs) > 0 {
		o, k, off := p.nextPendingLocked()
		if k == nil { // cannot happen: pending counts the marks
			p.pending = 0
			return
		}
		p.pending--
		p.stats.Handoffs++
		if !k.Dead() {
			o.answerLocked(k, k.Control(), off, p.takeBufLocked(), 1)
		}
		k.State.inflight--
		p.cond.Broadcast()
	}
}

// nextPendingLocked finds and clears a pending mark.
// Preconditions: p.mu is held.
func (p *Pager) nextPendingLocked() (*Object, *kernel, mo.Offset) {
	for _, o := range p.objects {
		for _, k := range o.kernels.All() {
			for w, word := range k.State.pending {
				if word != 0 {
					b := bits.TrailingZeros64(word)
					k.State.pending[w] &^= 1 << b
					return o, k, mo.Offset(w*64+b) * mo.Offset(k.PageSize())
				}
			}
		}
	}
	return nil, nil, 0
}

// DataUnlock implements mo.Object; the pager never locks pages, so the
// answer is a lock_request that lifts every lock. No defer: it runs in the
// fault handler.
func (o *Object) DataUnlock(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	k, err := o.begin(seqno, ctl, offset, length)
	if err != nil {
		return err
	}
	err = ctl.LockRequest(offset, length, mo.ReturnNone, false, mo.ProtNone, false)
	o.done(k)
	return err
}

// FaultSafe implements mo.FaultSafe: a synchronous pager whose stores are
// all store.FaultSafe answers inside the call without blocking,
// allocating or deferring, so the fault handler may call DataRequest and
// DataUnlock itself. Once an object has answered true, AddSegment refuses
// stores that are not fault-safe. See the package documentation.
func (o *Object) FaultSafe() bool {
	p := o.p
	if p.cfg.Async {
		return false
	}
	p.mu.Lock()
	ok := p.blocking == 0
	if ok {
		p.inlined = true
	}
	p.mu.Unlock()
	return ok
}

// DataReturn implements mo.Object: the pages are written to the stores
// inside the call.
func (o *Object) DataReturn(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	return o.pageOut(seqno, ctl, offset, data)
}

// DataInitialize implements mo.DefaultObject.
func (o *Object) DataInitialize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte) error {
	return o.pageOut(seqno, ctl, offset, data)
}

func (o *Object) pageOut(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, mo.Size(len(data)), o.size)
	if err != nil {
		return err
	}
	defer k.Leave(seqno)
	p := o.p
	ps := int(p.ps)
	u0, n := int(offset/mo.Offset(ps)), len(data)/ps
	// With mu held: nothing allocates (the error is made after), nothing
	// blocks but a store that is not fault-safe.
	p.mu.Lock()
	need := uint64(0)
	for u := u0; u < u0+n; u++ {
		if o.slots[u] == 0 {
			need++
		}
	}
	if need > p.freeLocked(nil) {
		p.stats.RefusedPageOuts++
		p.mu.Unlock()
		return mo.KernResourceShortage
	}
	for i := 0; i < n; {
		u := u0 + i
		r := o.slots[u]
		var fresh uint64 // bit j: page u+j got its slot in this call
		if r == 0 {
			r = p.allocLocked(o, u, nil)
			o.slots[u] = r
			o.stored++
			fresh = 1
		}
		m := 1
		if _, ok := p.segs[segOf(r)].st.(store.RunStore); ok {
			m, fresh = o.extendRunLocked(u, min(n-i, maxRun), fresh)
		}
		err := p.writeLocked(r, m, data[i*ps:(i+m)*ps])
		if err != nil {
			p.stats.WriteErrors++
			p.stats.RefusedPageOuts++
			for j := 0; j < m; j++ {
				if fresh&(1<<j) != 0 {
					p.releaseLocked(o.slots[u+j])
					o.slots[u+j] = 0
					o.stored--
				}
			}
			p.mu.Unlock()
			return fmt.Errorf("%w: page-out of %#x: %w", mo.KernFailure, offset+mo.Offset(i*ps), err)
		}
		p.stats.PageOuts += uint64(m)
		i += m
	}
	p.mu.Unlock()
	return nil
}

// extendRunLocked grows the run of page u, whose slot o.slots[u] is in
// a store.RunStore, over the pages after it (at most most pages in all)
// whose slots follow it: a page with a slot whose slot is the next one, or
// a page without one that is given the next slot (allocLocked gives the
// slot at the same distance from its neighbour when it is free; any
// other slot it gives is released again, for a later run to take). It
// returns the run's length and fresh with a bit set for each page given a
// slot. Preconditions: p.mu is held, enough slots are free for every page
// of the call without one.
func (o *Object) extendRunLocked(u, most int, fresh uint64) (int, uint64) {
	p := o.p
	r0 := o.slots[u]
	m := 1
	for ; m < most; m++ {
		want := r0 + uint64(m)
		r := o.slots[u+m]
		if r != 0 {
			if r != want || segOf(r) != segOf(r0) {
				break
			}
			continue
		}
		r = p.allocLocked(o, u+m, nil)
		if r != want || segOf(r) != segOf(r0) {
			if r != 0 {
				p.releaseLocked(r)
			}
			break
		}
		o.slots[u+m] = r
		o.stored++
		fresh |= 1 << m
	}
	return m, fresh
}

// writeLocked writes the n pager pages of b into the slots from slot
// reference r, with one WritePages if n > 1. Preconditions: p.mu is held.
func (p *Pager) writeLocked(r uint64, n int, b []byte) error {
	st := p.segs[segOf(r)].st
	if n == 1 {
		return st.WritePage(slotOf(r), b)
	}
	return st.(store.RunStore).WritePages(slotOf(r), b)
}

// Synchronize implements mo.Object: every store is synced, then
// synchronize_completed is sent.
func (o *Object) Synchronize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, flags mo.SyncFlags) error {
	if !flags.Valid() {
		return o.refuse(seqno, ctl)
	}
	return o.start(seqno, job{kind: jobSync, o: o, ctl: ctl, offset: offset, length: length})
}

func (o *Object) sync(k *kernel, ctl mo.Control, offset mo.Offset, length mo.Size) {
	defer o.done(k)
	p := o.p
	p.mu.Lock()
	if k.Dead() {
		p.mu.Unlock()
		return
	}
	for _, sg := range p.segs {
		if sg != nil {
			if err := sg.st.Sync(); err != nil {
				p.stats.SyncErrors++
			}
		}
	}
	p.mu.Unlock()
	ctl.SynchronizeCompleted(offset, length)
}

// Terminate implements mo.Object. It returns once no answer for ctl is
// under way; a temporary object's pages are freed, as are a destroyed
// object's once no kernel maps it.
func (o *Object) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	k, err := o.kernels.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	p := o.p
	p.mu.Lock()
	o.kernels.Terminate(k)
	for w, word := range k.State.pending {
		n := bits.OnesCount64(word)
		k.State.pending[w] = 0
		k.State.inflight -= n
		p.pending -= n
	}
	for k.State.inflight > 0 {
		p.cond.Wait()
	}
	if o.liveLocked() == 0 && (o.temporary || o.destroyed) {
		p.forgetLocked(o)
	}
	p.mu.Unlock()
	k.Leave(seqno)
	return nil
}

// Destroy asks every kernel mapping the object to return its dirty pages
// and flush (lock_request with should_flush and a write lock), then to
// destroy it (memory_object_destroy); the pages are freed when the last
// kernel has terminated it.
func (o *Object) Destroy(reason error) error {
	p := o.p
	p.mu.Lock()
	o.destroyed = true
	ks := o.kernels.All() // never changed in place: a snapshot
	live := o.liveLocked()
	if live == 0 {
		p.forgetLocked(o)
	}
	p.mu.Unlock()
	if live == 0 {
		return nil
	}
	for _, k := range ks {
		if !k.Dead() {
			k.Control().LockRequest(0, o.size, mo.ReturnDirty, true, mo.ProtWrite, false)
			k.Control().Destroy(reason)
		}
	}
	return nil
}
