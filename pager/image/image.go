// Package image is a pager for a read-only image (an embedded blob, a
// region of a store) mapped with copy-on-write: the image's pages are
// supplied with a write lock, and a page written by a kernel goes, when
// returned, to anonymous memory (an object of a default pager, the
// overlay), from where it is supplied from then on. The image itself is
// never written, so several Objects may share one image.
//
// # How copy-on-write works with vm
//
// vm has no shadow objects: it neither creates a copy object on a write
// nor interprets CopyDelay (it keeps the attribute and nothing else). So
// the copy is made on the pager side, with the tools vm has, page locks
// and data_unlock:
//
//  1. data_request for a page no kernel has written: the image's bytes are
//     supplied with lock ProtWrite, so the kernel maps the page read-only.
//  2. A write to it makes vm send data_unlock. The pager flushes every
//     other kernel's copy of the range (lock_request, should_flush,
//     should_return dirty), then answers with lock_request lifting the
//     lock. The kernel's frame is now the private copy, and vm marks it
//     dirty on the write.
//  3. data_return of the dirty page writes it into the overlay object
//     (data_return on the overlay), and the page is marked modified.
//  4. data_request for a modified page reads it from the overlay (the
//     sub-pages never written come from the image) and supplies it with no
//     lock.
//
// The copy costs no memory until the kernel pages it out: until then it
// lives in the kernel's frame, as in Mach. A page unlocked but never
// written is dropped clean and later supplied from the image again.
//
// Coherence between kernels: at most one kernel is granted write access
// to a page at a time (per kernel, a bitmap of pages it was granted).
// Before unlocking a page for one kernel the pager flushes every other
// kernel's copy of it; before supplying a page it flushes the kernels that
// hold a grant on it, which returns their dirty data to the overlay first.
//
// What a kernel-side copy-on-write would need from vm instead: shadow
// objects (a copy object backed by the default pager, created on the
// first write fault to a CopyDelay object, looked up before the object it
// shadows on later faults) and a copy-on-write resolution in the fault
// path (copy the frame, map the copy writable). Until vm has them, this
// pager's way gives the same contents to a single-object mapping.
//
// # The overlay
//
// The overlay is created at New with the DefaultPager given in Config,
// through the pager's own control, and must answer data_request inside
// the call (a synchronous default pager, defaultpager's default mode); an
// answer that comes later is refused and the page gets data_error. Calls
// on the overlay are numbered by ovMu, which is held across them.
//
// # Memory
//
// Config.Buffers page buffers (of Config.MaxPageSize) are allocated at New;
// a page-in assembles the page in one and supplies it, allocating nothing.
//
// # Invariants
//
//   - A unit (page of Config.PageSize) is modified iff the overlay holds
//     its data; the image is never written.
//   - The kernels that initialised the object, and those terminated or
//     dropped, are in kernels (mo.Kernels), which answers for the
//     lifecycle rules; Destroy closes it, so later Inits are refused.
//     Calls of one control are handled in seqno order (its turn, taken
//     by kernels.Enter); when Terminate returns no answer for it is under
//     way (inflight is zero): Terminate marks it dead under mu, and an
//     answer checks that under mu.
//   - No Control method of a kernel is called with mu or ovMu held, or a
//     seqno turn taken.
//
// # Lock order
//
// A seqno turn before ovMu before mu; ovMu is held across calls on the
// overlay object, which calls back only ovCtl (which takes ovCtl.mu, a
// leaf). kernels takes no lock but in Init and Close, neither called with
// a lock held.
package image

import (
	"sync"

	"github.com/tamach/tamach/mo"
)

// Config describes an Object.
type Config struct {
	// Image is the object's initial contents; the object beyond it reads
	// as zeros. It is never written.
	Image []byte
	// Size is the object's size, a multiple of PageSize at least
	// len(Image); 0 means len(Image) rounded up to PageSize.
	Size mo.Size
	// PageSize is the unit of modification; kernels' page sizes are
	// multiples of it up to MaxPageSize. 0 means 4 KiB and 64 KiB.
	PageSize, MaxPageSize mo.Size
	// Overlay is the default pager that keeps written pages.
	Overlay mo.DefaultPager
	// Buffers is the number of page buffers in the reserve; 0 means 2.
	Buffers int
}

// Object is an image mapped copy-on-write. It implements mo.Object.
type Object struct {
	mo.NoReplies

	cfg   Config
	units int

	ovMu  sync.Mutex
	ov    mo.DefaultObject // calls protected by ovMu
	ovCtl *overlayControl
	ovSeq mo.Seqno // protected by ovMu

	kernels mo.Kernels[kernelState]

	mu        sync.Mutex
	cond      sync.Cond // L is &mu: buffer back, inflight dropped
	modified  []uint64  // protected by mu: bit per unit held by the overlay
	bufs      [][]byte  // protected by mu
	destroyed bool      // protected by mu
	ovDone    bool      // protected by mu: overlay terminated

	// Counters, protected by mu.
	Unlocks, CopiesOut, Flushes uint64
}

// kernelState is the pager's state for one kernel; its dead bit
// (mo.Kernel.Dead) is set under mu by Terminate.
type kernelState struct {
	inflight int      // protected by mu
	granted  []uint64 // protected by mu: units unlocked for writing
}

type kernel = mo.Kernel[kernelState]

var _ mo.Object = (*Object)(nil)

// overlayControl is the image pager's control for its overlay object.
type overlayControl struct {
	mu     sync.Mutex
	want   bool   // protected by mu: a request is under way
	buf    []byte // protected by mu: where the answer goes
	err    error  // protected by mu
	got    bool   // protected by mu
	empty  bool   // protected by mu: data_unavailable
	ready  bool   // protected by mu
	offset mo.Offset
}

func (c *overlayControl) DataSupply(offset mo.Offset, data []byte, lock mo.Prot, precious, reply bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.want || offset != c.offset || len(data) != len(c.buf) || c.got {
		return mo.KernInvalidArgument
	}
	copy(c.buf, data)
	c.got = true
	return nil
}

func (c *overlayControl) DataUnavailable(offset mo.Offset, length mo.Size) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.want || offset != c.offset || c.got {
		return mo.KernInvalidArgument
	}
	clear(c.buf)
	c.got, c.empty = true, true
	return nil
}

func (c *overlayControl) DataError(offset mo.Offset, length mo.Size, reason error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.want || offset != c.offset || c.got {
		return mo.KernInvalidArgument
	}
	c.got, c.err = true, reason
	if c.err == nil {
		c.err = mo.KernMemoryError
	}
	return nil
}

func (c *overlayControl) LockRequest(mo.Offset, mo.Size, mo.ReturnPolicy, bool, mo.Prot, bool) error {
	return nil
}
func (c *overlayControl) ChangeAttributes(mo.Attributes, bool) error { return nil }
func (c *overlayControl) GetAttributes() (mo.Attributes, error)      { return mo.Attributes{}, nil }
func (c *overlayControl) Destroy(error) error                        { return nil }
func (c *overlayControl) SynchronizeCompleted(mo.Offset, mo.Size) error {
	return nil
}
func (c *overlayControl) Ready(mo.Attributes) error {
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
	return nil
}

// New makes an object over cfg.Image, creating its overlay.
func New(cfg Config) (*Object, error) {
	if cfg.PageSize == 0 {
		cfg.PageSize = 4 << 10
	}
	if cfg.MaxPageSize == 0 {
		cfg.MaxPageSize = max(cfg.PageSize, 64<<10)
	}
	if cfg.Buffers == 0 {
		cfg.Buffers = 2
	}
	ps := cfg.PageSize
	if cfg.Size == 0 {
		cfg.Size = (mo.Size(len(cfg.Image)) + ps - 1) &^ (ps - 1)
	}
	if cfg.Overlay == nil || mo.CheckPageSize(ps) != nil || mo.CheckPageSize(cfg.MaxPageSize) != nil ||
		cfg.MaxPageSize < ps || cfg.Size == 0 || cfg.Size%ps != 0 || cfg.Size > 1<<36 ||
		mo.Size(len(cfg.Image)) > cfg.Size || cfg.Buffers < 1 || cfg.Buffers > 64 {
		return nil, mo.KernInvalidArgument
	}
	o := &Object{cfg: cfg, units: int(cfg.Size / ps), ovCtl: &overlayControl{}}
	o.cond.L = &o.mu
	o.Acknowledge = o.kernels.Acknowledge
	o.modified = make([]uint64, (o.units+63)/64)
	for i := 0; i < cfg.Buffers; i++ {
		o.bufs = append(o.bufs, make([]byte, cfg.MaxPageSize))
	}
	ov, err := cfg.Overlay.Create(o.ovCtl, cfg.Size, ps)
	if err != nil {
		return nil, err
	}
	o.ov, o.ovSeq = ov, 1
	return o, nil
}

func bit(b []uint64, i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func set(b []uint64, i int)      { b[i/64] |= 1 << (i % 64) }

// Modified reports whether the page of Config.PageSize at offset is held
// by the overlay (was written and returned).
func (o *Object) Modified(offset mo.Offset) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	u := int(offset / mo.Offset(o.cfg.PageSize))
	return u < o.units && bit(o.modified, u)
}

// Init implements mo.Object: the page size must be a multiple of
// Config.PageSize up to Config.MaxPageSize dividing the object's size.
func (o *Object) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	_, err := o.kernels.Init(seqno, ctl, pageSize, func(ps mo.Size) (kernelState, error) {
		if ps%o.cfg.PageSize != 0 || ps > o.cfg.MaxPageSize || o.cfg.Size%ps != 0 {
			return kernelState{}, mo.KernInvalidArgument
		}
		return kernelState{granted: make([]uint64, len(o.modified))}, nil
	})
	if err != nil {
		return err
	}
	return ctl.Ready(mo.Attributes{CopyStrategy: mo.CopyDelay})
}

// begin checks a range call, counts an answer under way, leaves the turn.
func (o *Object) begin(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size) (*kernel, error) {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, length, o.cfg.Size)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	k.State.inflight++
	o.mu.Unlock()
	k.Leave(seqno)
	return k, nil
}

func (o *Object) done(k *kernel) {
	o.mu.Lock()
	k.State.inflight--
	o.cond.Broadcast()
	o.mu.Unlock()
}

// flushOthers makes every kernel but self that was granted write access
// to a unit of [offset, offset+length) (with all, every kernel but self)
// return its dirty pages there and flush them, and clears those grants.
// It reports whether a kernel with a grant was flushed.
// Preconditions: no lock held.
func (o *Object) flushOthers(self *kernel, offset mo.Offset, length mo.Size, all bool) bool {
	type target struct {
		ctl      mo.Control
		off      mo.Offset
		len      mo.Size
		inflight *kernel
	}
	targets := make([]target, 0, 4) // on the stack unless more kernels hold grants
	granted := false
	ps := mo.Offset(o.cfg.PageSize)
	o.mu.Lock()
	for _, k := range o.kernels.All() {
		if k == self || k.Dead() {
			continue
		}
		mask := mo.Offset(k.PageSize() - 1)
		start := offset &^ mask
		end := (offset + mo.Offset(length) + mask) &^ mask
		hit := all
		for u := int(start / ps); u < int(end/ps); u++ {
			if bit(k.State.granted, u) {
				hit, granted = true, true
				k.State.granted[u/64] &^= 1 << (u % 64)
			}
		}
		if hit {
			k.State.inflight++
			targets = append(targets, target{k.Control(), start, mo.Size(end - start), k})
		}
	}
	o.Flushes += uint64(len(targets))
	o.mu.Unlock()
	for _, t := range targets {
		t.ctl.LockRequest(t.off, t.len, mo.ReturnDirty, true, mo.ProtWrite, false)
		o.done(t.inflight)
	}
	return granted
}

// DataRequest implements mo.Object.
func (o *Object) DataRequest(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	if !desired.Valid() {
		return o.refuse(seqno, ctl)
	}
	k, err := o.begin(seqno, ctl, offset, length)
	if err != nil {
		return err
	}
	defer o.done(k)
	o.flushOthers(k, offset, length, false)
	for off := offset; off < offset+mo.Offset(length); off += mo.Offset(k.PageSize()) {
		o.supply(k, ctl, off)
	}
	return nil
}

// supply assembles one kernel page from the overlay and the image and
// supplies it: with a write lock if no unit of it was modified.
func (o *Object) supply(k *kernel, ctl mo.Control, off mo.Offset) {
	ps := int(o.cfg.PageSize)
	o.mu.Lock()
	if k.Dead() {
		o.mu.Unlock()
		return
	}
	for len(o.bufs) == 0 {
		o.cond.Wait()
	}
	buf := o.bufs[len(o.bufs)-1][:k.PageSize()]
	o.bufs = o.bufs[:len(o.bufs)-1]
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.bufs = append(o.bufs, buf[:cap(buf)])
		o.cond.Broadcast()
		o.mu.Unlock()
	}()
	u0 := int(off) / ps
	anyModified := false
	for i := 0; i < len(buf)/ps; i++ {
		b := buf[i*ps : (i+1)*ps]
		o.mu.Lock()
		mod := bit(o.modified, u0+i)
		o.mu.Unlock()
		if mod {
			anyModified = true
			if err := o.readOverlay(mo.Offset((u0+i)*ps), b); err != nil {
				ctl.DataError(off, k.PageSize(), err)
				return
			}
			continue
		}
		start := min((u0+i)*ps, len(o.cfg.Image))
		n := copy(b, o.cfg.Image[start:min(start+ps, len(o.cfg.Image))])
		clear(b[n:])
	}
	lock := mo.ProtWrite
	if anyModified {
		lock = mo.ProtNone
		o.mu.Lock()
		for i := 0; i < len(buf)/ps; i++ {
			set(k.State.granted, u0+i)
		}
		o.mu.Unlock()
	}
	ctl.DataSupply(off, buf, lock, false, false)
}

// readOverlay reads one unit from the overlay into b.
func (o *Object) readOverlay(off mo.Offset, b []byte) error {
	o.ovMu.Lock()
	defer o.ovMu.Unlock()
	c := o.ovCtl
	c.mu.Lock()
	c.want, c.got, c.empty, c.err, c.buf, c.offset = true, false, false, nil, b, off
	c.mu.Unlock()
	s := o.ovSeq
	o.ovSeq++
	err := o.ov.DataRequest(s, c, off, o.cfg.PageSize, mo.ProtRead)
	c.mu.Lock()
	defer c.mu.Unlock()
	got, rerr := c.got, c.err
	c.want, c.buf = false, nil
	switch {
	case err != nil && !mo.Accepted(err):
		return err
	case !got:
		return mo.KernFailure // the overlay would answer later: refused
	case rerr != nil:
		return rerr
	}
	return nil
}

// DataUnlock implements mo.Object: a write to a page supplied from the
// image. Other kernels' grants on the range are flushed first; if that
// brought newer data into the overlay, the caller's copy is stale and is
// flushed instead of unlocked (it faults and requests it again).
func (o *Object) DataUnlock(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, desired mo.Prot) error {
	k, err := o.begin(seqno, ctl, offset, length)
	if err != nil {
		return err
	}
	defer o.done(k)
	if o.flushOthers(k, offset, length, true) {
		return ctl.LockRequest(offset, length, mo.ReturnNone, true, mo.ProtNone, false)
	}
	ps := mo.Offset(o.cfg.PageSize)
	o.mu.Lock()
	for u := int(offset / ps); u < int((offset+mo.Offset(length))/ps); u++ {
		set(k.State.granted, u)
	}
	o.Unlocks++
	o.mu.Unlock()
	return ctl.LockRequest(offset, length, mo.ReturnNone, false, mo.ProtNone, false)
}

// DataReturn implements mo.Object: dirty pages go to the overlay; clean
// ones carry nothing new (the pager supplies nothing precious).
func (o *Object) DataReturn(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, data []byte, dirty, kernelCopy bool) error {
	k, err := o.kernels.EnterRange(seqno, ctl, offset, mo.Size(len(data)), o.cfg.Size)
	if err != nil {
		return err
	}
	defer k.Leave(seqno)
	if !dirty {
		return nil
	}
	o.ovMu.Lock()
	s := o.ovSeq
	o.ovSeq++
	err = o.ov.DataReturn(s, o.ovCtl, offset, data, true, false)
	o.ovMu.Unlock()
	if err != nil {
		return err // the kernel keeps the page dirty
	}
	ps := int(o.cfg.PageSize)
	o.mu.Lock()
	for u := int(offset) / ps; u < (int(offset)+len(data))/ps; u++ {
		set(o.modified, u)
	}
	o.CopiesOut++
	o.mu.Unlock()
	return nil
}

// Synchronize implements mo.Object: the overlay stores inside the call,
// so the range is as stable as its stores; answered at once.
func (o *Object) Synchronize(seqno mo.Seqno, ctl mo.Control, offset mo.Offset, length mo.Size, flags mo.SyncFlags) error {
	if !flags.Valid() {
		return o.refuse(seqno, ctl)
	}
	k, err := o.begin(seqno, ctl, offset, length)
	if err != nil {
		return err
	}
	defer o.done(k)
	return ctl.SynchronizeCompleted(offset, length)
}

// Terminate implements mo.Object. When a destroyed object's last kernel
// terminates, the overlay is terminated too, freeing its pages.
func (o *Object) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	k, err := o.kernels.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.kernels.Terminate(k)
	for k.State.inflight > 0 {
		o.cond.Wait()
	}
	last := o.kernels.Live() == 0 && o.destroyed && !o.ovDone
	o.ovDone = o.ovDone || last
	o.mu.Unlock()
	k.Leave(seqno)
	if last {
		o.closeOverlay()
	}
	return nil
}

func (o *Object) closeOverlay() {
	o.ovMu.Lock()
	s := o.ovSeq
	o.ovSeq++
	o.ov.Terminate(s, o.ovCtl)
	o.ovMu.Unlock()
}

// Destroy flushes every kernel's dirty pages into the overlay (lock_request
// with should_flush and a write lock), then asks each kernel to destroy the
// object; the overlay goes when the last kernel has terminated.
func (o *Object) Destroy(reason error) error {
	o.kernels.Close(mo.KernInvalidArgument)
	o.mu.Lock()
	o.destroyed = true
	var ctls []mo.Control
	for _, k := range o.kernels.All() {
		if !k.Dead() {
			ctls = append(ctls, k.Control())
		}
	}
	last := len(ctls) == 0 && !o.ovDone
	o.ovDone = o.ovDone || last
	o.mu.Unlock()
	if last {
		o.closeOverlay()
	}
	for _, c := range ctls {
		c.LockRequest(0, o.cfg.Size, mo.ReturnDirty, true, mo.ProtWrite, false)
		c.Destroy(reason)
	}
	return nil
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
