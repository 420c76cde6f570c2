// Package coherence is a pager that serves one object to several kernels
// and keeps their copies coherent: each granule of the object has either
// one writer or any number of readers, as Mach's network memory servers
// did with the external memory-object protocol (lock_request and
// data_unlock).
//
// # The protocol
//
// The object is cut into granules of Config.Granule bytes, a multiple of
// every kernel's page size (kernels of different page sizes may map it).
// Per granule the pager keeps its copy of the data, the writer (a kernel
// allowed to modify it, or none) and the readers (kernels that may hold a
// read copy). A kernel that asks for a page:
//
//   - to read it, while another kernel writes the granule: the writer is
//     asked to clean and lose write access (lock_request over the
//     granule, should_return dirty, no flush, lock write, reply); once its
//     lock_completed arrives (after the dirty pages came back with
//     data_return) it is a reader. The page is supplied locked against
//     writing (lock value write), so a later write sends data_unlock.
//   - to write it (data_request for write, or data_unlock): every other
//     kernel holding the granule is asked to return dirty pages and flush
//     (should_return dirty, should_flush, reply); then the kernel is the
//     only holder and writer, and the page is supplied unlocked, or the
//     lock lifted (lock_request with lock none).
//
// Transitions of one granule are serialised (a busy flag); the answer to
// the asking kernel is sent before the granule is released, so that a
// later lock_request to that kernel follows the answer on its control.
// No lock and no seqno turn is held across a call on a control: a kernel's
// calls are ordered at their start with an mo.Sequencer and carried out
// without it, since a data_request may wait for another kernel.
//
// # Kernels that go away
//
// A kernel that does not answer a lock_request within Config.Timeout is
// evicted: it is forgotten as reader and writer everywhere (the data it
// did not return is lost; the pager's copy, as of the kernel's last
// data_return, stands), its later calls are refused with KERN_TERMINATED
// (terminate excepted), and Config.Evicted is told, so that a transport
// can cut it off (moremote.Server.Drop). The other kernels carry on.
//
// # Invariants
//
//   - The kernels that sent Init, and those terminated or dropped, are in
//     kernels (mo.Kernels), which answers for the lifecycle rules
//     (unknown control, second init, call after terminate); an evicted
//     kernel stays live there, so that its Terminate is taken.
//   - A dead kernel (evicted or terminated, kernelState.dead) is no
//     granule's reader or writer and waits for no lock_completed.
//
// # Lock order
//
// A seqno turn (held by Terminate only; other calls take and leave it at
// their start) before Pager.mu. No lock is held across a call on a
// Control; kernels takes no lock but in Init.
package coherence

import (
	"errors"
	"sync"
	"time"

	"github.com/tamach/tamach/mo"
)

// Config describes a Pager.
type Config struct {
	// Size of the object, a multiple of Granule.
	Size mo.Size
	// Granule is the unit of ownership, a power of two; 0 means 64 KiB.
	Granule mo.Size
	// Timeout is how long a kernel may take to answer a lock_request;
	// 0 means 5 s.
	Timeout time.Duration
	// Evicted, if set, is called (with no lock held) with the control of
	// a kernel that was evicted.
	Evicted func(mo.Control)
}

// Stats are the pager's counters.
type Stats struct {
	Supplies, Unlocks     uint64 // pages supplied; data_unlock answered
	Downgrades, Flushes   uint64 // lock_requests sent to clean a writer, to flush a holder
	Returns, StaleReturns uint64 // data_returns taken; dropped (not the writer's)
	Evictions             uint64 // kernels evicted after a timeout
}

// Pager is a coherence pager for one object. It implements mo.Object.
type Pager struct {
	cfg Config

	mu      sync.Mutex
	cond    sync.Cond // L is &mu: a granule's transition ended
	data    []byte    // protected by mu
	gran    []granule // protected by mu
	kernels mo.Kernels[kernelState]
	stats   Stats // protected by mu
}

type granule struct {
	busy    bool
	writer  *kernel
	readers map[*kernel]bool
}

// kernelState is the pager's state for one kernel.
type kernelState struct {
	dead    bool                  // protected by Pager.mu: evicted or terminated
	waiting map[int]chan struct{} // protected by Pager.mu: lock_completed awaited, by granule
}

type kernel = mo.Kernel[kernelState]

var _ mo.Object = (*Pager)(nil)

// ErrEvicted is the reason given to a kernel's calls after its eviction.
var ErrEvicted = errors.New("coherence: kernel evicted after a lock_request timed out")

// New returns a pager whose object reads as zeros.
func New(cfg Config) (*Pager, error) {
	if cfg.Granule == 0 {
		cfg.Granule = 64 << 10
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if mo.CheckPageSize(cfg.Granule) != nil || cfg.Size == 0 || cfg.Size%cfg.Granule != 0 {
		return nil, mo.KernInvalidArgument
	}
	p := &Pager{cfg: cfg, data: make([]byte, cfg.Size), gran: make([]granule, cfg.Size/cfg.Granule)}
	for i := range p.gran {
		p.gran[i].readers = make(map[*kernel]bool)
	}
	p.cond.L = &p.mu
	return p, nil
}

// Stats returns the counters.
func (p *Pager) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Read copies the pager's copy of [off, off+len(b)): what the kernels
// returned last.
func (p *Pager) Read(b []byte, off mo.Offset) {
	p.mu.Lock()
	copy(b, p.data[off:])
	p.mu.Unlock()
}

// turn takes and leaves seqno's turn for ctl, so that calls start in
// order, and returns the live kernel.
func (p *Pager) turn(seqno mo.Seqno, ctl mo.Control) (*kernel, error) {
	k, err := p.kernels.Enter(seqno, ctl)
	if err != nil {
		return nil, err
	}
	k.Leave(seqno)
	p.mu.Lock()
	dead := k.State.dead
	p.mu.Unlock()
	if dead {
		return nil, mo.KernTerminated
	}
	return k, nil
}

// Init implements mo.Object: the page size must not exceed a granule.
func (p *Pager) Init(seqno mo.Seqno, ctl mo.Control, pageSize mo.Size) error {
	_, err := p.kernels.Init(seqno, ctl, pageSize, func(ps mo.Size) (kernelState, error) {
		if ps > p.cfg.Granule {
			return kernelState{}, mo.KernInvalidArgument
		}
		return kernelState{waiting: make(map[int]chan struct{})}, nil
	})
	if err != nil {
		return err
	}
	return ctl.Ready(mo.Attributes{CopyStrategy: mo.CopyNone})
}

// acquire waits until granule g is not in transition and marks it busy.
// Preconditions: p.mu is held.
func (p *Pager) acquireLocked(g int) {
	for p.gran[g].busy {
		p.cond.Wait()
	}
	p.gran[g].busy = true
}

func (p *Pager) releaseLocked(g int) {
	p.gran[g].busy = false
	p.cond.Broadcast()
}

// lockOther sends a lock_request over granule g to o and waits for its
// lock_completed, or evicts o after the timeout. Preconditions: p.mu is
// held and granule g is busy; mu is released meanwhile.
func (p *Pager) lockOtherLocked(o *kernel, g int, flush bool) {
	ch := make(chan struct{})
	o.State.waiting[g] = ch
	G := p.cfg.Granule
	lock := mo.ProtWrite
	if flush {
		lock = mo.ProtAll
		p.stats.Flushes++
	} else {
		p.stats.Downgrades++
	}
	p.mu.Unlock()
	err := o.Control().LockRequest(mo.Offset(g)*mo.Offset(G), G, mo.ReturnDirty, flush, lock, true)
	ok := false
	if err == nil {
		t := time.NewTimer(p.cfg.Timeout)
		select {
		case <-ch:
			ok = true
		case <-t.C:
		}
		t.Stop()
	}
	p.mu.Lock()
	delete(o.State.waiting, g)
	if !ok && !o.State.dead {
		p.evictLocked(o)
	}
}

// evictLocked forgets o everywhere and tells Config.Evicted, with mu
// released. Preconditions: p.mu is held.
func (p *Pager) evictLocked(o *kernel) {
	o.State.dead = true
	p.stats.Evictions++
	p.forgetLocked(o)
	if p.cfg.Evicted != nil {
		p.mu.Unlock()
		p.cfg.Evicted(o.Control())
		p.mu.Lock()
	}
}

// forgetLocked removes o as reader and writer of every granule and ends
// its waits. Preconditions: p.mu is held.
func (p *Pager) forgetLocked(o *kernel) {
	for i := range p.gran {
		gr := &p.gran[i]
		delete(gr.readers, o)
		if gr.writer == o {
			gr.writer = nil
		}
	}
	for g, ch := range o.State.waiting {
		close(ch)
		delete(o.State.waiting, g)
	}
}

// takeLocked makes k a holder of granule g for the access: a writer
// alone, or a reader beside the others. Preconditions: p.mu is held,
// granule g is busy.
func (p *Pager) takeLocked(k *kernel, g int, write bool) {
	gr := &p.gran[g]
	if write {
		for o := range gr.readers {
			if o != k && !o.State.dead {
				p.lockOtherLocked(o, g, true)
			}
		}
		if w := gr.writer; w != nil && w != k && !w.State.dead {
			p.lockOtherLocked(w, g, true)
		}
		clear(gr.readers)
		gr.readers[k] = true
		gr.writer = k
		return
	}
	if w := gr.writer; w != nil && w != k {
		p.lockOtherLocked(w, g, false)
		if !w.State.dead {
			gr.readers[w] = true
		}
		gr.writer = nil
	}
	gr.readers[k] = true
}

func (p *Pager) checkRange(k *kernel, off mo.Offset, n mo.Size) error {
	return mo.CheckRange(off, n, k.PageSize(), p.cfg.Size)
}

// DataRequest implements mo.Object: each page is supplied after the
// granule's other holders gave it up as the access requires.
func (p *Pager) DataRequest(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	k, err := p.turn(seqno, ctl)
	if err != nil {
		return err
	}
	if err := p.checkRange(k, off, n); err != nil || !desired.Valid() {
		return mo.KernInvalidArgument
	}
	write := desired&mo.ProtWrite != 0
	buf := make([]byte, k.PageSize())
	for pg := off; pg < off+mo.Offset(n); pg += mo.Offset(k.PageSize()) {
		g := int(pg / mo.Offset(p.cfg.Granule))
		p.mu.Lock()
		p.acquireLocked(g)
		if k.State.dead {
			p.releaseLocked(g)
			p.mu.Unlock()
			return mo.KernTerminated
		}
		p.takeLocked(k, g, write)
		lock := mo.ProtWrite
		if p.gran[g].writer == k {
			lock = mo.ProtNone
		}
		copy(buf, p.data[pg:])
		p.stats.Supplies++
		p.mu.Unlock()
		ctl.DataSupply(pg, buf, lock, false, false)
		p.mu.Lock()
		p.releaseLocked(g)
		p.mu.Unlock()
	}
	return nil
}

// DataUnlock implements mo.Object: the kernel becomes the granule's
// writer and the lock on the range is lifted.
func (p *Pager) DataUnlock(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, desired mo.Prot) error {
	k, err := p.turn(seqno, ctl)
	if err != nil {
		return err
	}
	if err := p.checkRange(k, off, n); err != nil || !desired.Valid() {
		return mo.KernInvalidArgument
	}
	for pg := off; pg < off+mo.Offset(n); pg += mo.Offset(k.PageSize()) {
		g := int(pg / mo.Offset(p.cfg.Granule))
		p.mu.Lock()
		p.acquireLocked(g)
		if k.State.dead {
			p.releaseLocked(g)
			p.mu.Unlock()
			return mo.KernTerminated
		}
		p.takeLocked(k, g, true)
		p.stats.Unlocks++
		p.mu.Unlock()
		ctl.LockRequest(pg, k.PageSize(), mo.ReturnNone, false, mo.ProtNone, false)
		p.mu.Lock()
		p.releaseLocked(g)
		p.mu.Unlock()
	}
	return nil
}

// DataReturn implements mo.Object: a writer's dirty pages become the
// pager's copy; anything else is dropped.
func (p *Pager) DataReturn(seqno mo.Seqno, ctl mo.Control, off mo.Offset, data []byte, dirty, kernelCopy bool) error {
	k, err := p.turn(seqno, ctl)
	if err != nil {
		return err
	}
	if err := p.checkRange(k, off, mo.Size(len(data))); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := int(k.PageSize())
	for i := 0; i < len(data); i += ps {
		pg := off + mo.Offset(i)
		if dirty && p.gran[pg/mo.Offset(p.cfg.Granule)].writer == k {
			copy(p.data[pg:pg+mo.Offset(ps)], data[i:i+ps])
			p.stats.Returns++
		} else if dirty {
			p.stats.StaleReturns++
		}
	}
	return nil
}

// LockCompleted implements mo.Object: it ends the wait of the
// lock_request over that granule.
func (p *Pager) LockCompleted(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size) error {
	k, err := p.turn(seqno, ctl)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g := int(off / mo.Offset(p.cfg.Granule))
	if ch := k.State.waiting[g]; ch != nil {
		close(ch)
		delete(k.State.waiting, g)
	}
	return nil
}

// Synchronize implements mo.Object: returned data is in the pager's
// memory already.
func (p *Pager) Synchronize(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, flags mo.SyncFlags) error {
	k, err := p.turn(seqno, ctl)
	if err != nil {
		return err
	}
	if err := p.checkRange(k, off, n); err != nil || !flags.Valid() {
		return mo.KernInvalidArgument
	}
	return ctl.SynchronizeCompleted(off, n)
}

// Terminate implements mo.Object; it is taken from an evicted kernel too.
func (p *Pager) Terminate(seqno mo.Seqno, ctl mo.Control) error {
	k, err := p.kernels.Enter(seqno, ctl)
	if err != nil {
		return err
	}
	p.mu.Lock()
	k.State.dead = true
	p.forgetLocked(k)
	p.kernels.Terminate(k)
	p.mu.Unlock()
	k.Leave(seqno)
	return nil
}

// SupplyCompleted implements mo.Object.
func (p *Pager) SupplyCompleted(seqno mo.Seqno, ctl mo.Control, off mo.Offset, n mo.Size, result error, errorOffset mo.Offset) error {
	_, err := p.turn(seqno, ctl)
	return err
}

// ChangeCompleted implements mo.Object.
func (p *Pager) ChangeCompleted(seqno mo.Seqno, ctl mo.Control, attr mo.Attributes) error {
	_, err := p.turn(seqno, ctl)
	return err
}
