package defaultpager

import (
	"fmt"
	"math/bits"
	"sync"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/store"
)

// DefaultClusterPages is the cluster size of a store created with cluster
// size 0.
const DefaultClusterPages = 4

// MaxClusterPages bounds a store's cluster size in pages.
const MaxClusterPages = 64

// Config describes a Pager. The zero Config is a synchronous pager of
// 4 KiB pages for kernels of 4 KiB or 64 KiB pages.
type Config struct {
	// PageSize is the slot size of every store; kernels' page sizes are
	// multiples of it. 0 means 4 KiB.
	PageSize mo.Size
	// MaxPageSize is the largest kernel page size taken; the reserve's
	// buffers have this size. 0 means max(PageSize, 64 KiB).
	MaxPageSize mo.Size
	// Buffers is the number of page buffers in the reserve; 0 means 4.
	Buffers int
	// Async answers data_request and synchronize from the pager's own
	// goroutine; Close stops it.
	Async bool
	// QueueLen is the asynchronous job queue's length; 0 means 256.
	QueueLen int
	// NoDelete makes BackingStoreDelete answer KERN_FAILURE.
	NoDelete bool
}

// ObjectID names an object in Objects and ObjectPages.
type ObjectID uint32

// Info is default_pager_info: the pager's total and free space in bytes.
type Info struct {
	TotalSpace, FreeSpace, PageSize mo.Size
}

// ObjectInfo describes an object (default_pager_objects).
type ObjectInfo struct {
	ID        ObjectID
	Size      mo.Size
	Pages     uint64 // pages stored, of the pager's page size
	Kernels   int    // live controls
	Temporary bool   // made by Create (anonymous memory)
}

// PageInfo is where one stored page of an object is
// (default_pager_object_pages).
type PageInfo struct {
	Offset mo.Offset
	Store  mo.BackingStoreID
	Slot   uint64 // within the store, counting its segments in order
}

// Stats are the pager's counters.
type Stats struct {
	PageIns, PageOuts       uint64 // pages of the pager's size read and written
	RefusedPageOuts         uint64 // data_return or data_initialize refused
	ReadErrors, WriteErrors uint64 // store calls that failed
	SyncErrors              uint64
	Moved                   uint64 // pages moved by BackingStoreDelete
}

// Pager is a default pager. It implements mo.DefaultPager and
// mo.BackingStores. See the package documentation.
type Pager struct {
	ps     mo.Size
	maxPS  mo.Size
	cfg    Config
	jobs   chan job
	stop   chan struct{}
	closed sync.Once
	busy   sync.WaitGroup // async: jobs queued and not finished

	mu        sync.Mutex
	cond      sync.Cond            // L is &mu: a buffer came back, an inflight count dropped
	stores    []*backingStore      // protected by mu: by priority, then creation
	segs      []*segment           // protected by mu: by number; nil once deleted
	objects   []*Object            // protected by mu
	bufs      [][]byte             // protected by mu: free reserve buffers
	nextStore mo.BackingStoreID    // protected by mu
	nextObj   ObjectID             // protected by mu
	stats     Stats                // protected by mu
	moves     []move               // protected by mu: scratch of BackingStoreDelete
	byStore   map[store.Store]bool // protected by mu: stores in use as segments
}

type backingStore struct {
	id       mo.BackingStoreID
	priority int
	cluster  int   // pages, a power of two
	segs     []int // segment numbers, in order added
	free     uint64
	pages    uint64
}

type segment struct {
	bs    *backingStore
	st    store.Store
	used  []uint64 // bit set: slot used; bits past pages are set
	pages uint64
	free  uint64
	hint  int // word to start scanning at
}

type move struct {
	o        *Object
	u        int
	from, to uint64
}

var (
	_ mo.DefaultPager  = (*Pager)(nil)
	_ mo.BackingStores = (*Pager)(nil)
)

// New returns a pager with no stores.
func New(cfg Config) (*Pager, error) {
	if cfg.PageSize == 0 {
		cfg.PageSize = 4 << 10
	}
	if cfg.MaxPageSize == 0 {
		cfg.MaxPageSize = max(cfg.PageSize, 64<<10)
	}
	if cfg.Buffers == 0 {
		cfg.Buffers = 4
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = 256
	}
	if mo.CheckPageSize(cfg.PageSize) != nil || mo.CheckPageSize(cfg.MaxPageSize) != nil ||
		cfg.MaxPageSize < cfg.PageSize || cfg.Buffers < 1 || cfg.Buffers > 1024 || cfg.QueueLen < 1 {
		return nil, mo.KernInvalidArgument
	}
	p := &Pager{ps: cfg.PageSize, maxPS: cfg.MaxPageSize, cfg: cfg, nextStore: 1, nextObj: 1,
		byStore: make(map[store.Store]bool)}
	p.cond.L = &p.mu
	reserve := make([]byte, int(cfg.MaxPageSize)*cfg.Buffers)
	for i := 0; i < cfg.Buffers; i++ {
		p.bufs = append(p.bufs, reserve[i*int(cfg.MaxPageSize):(i+1)*int(cfg.MaxPageSize):(i+1)*int(cfg.MaxPageSize)])
	}
	if cfg.Async {
		p.jobs = make(chan job, cfg.QueueLen)
		p.stop = make(chan struct{})
		go p.worker()
	}
	return p, nil
}

// Close stops the goroutine of an asynchronous pager once its queue is
// empty.
func (p *Pager) Close() {
	if p.stop != nil {
		p.closed.Do(func() { p.busy.Wait(); close(p.stop) })
	}
}

// Quiesce waits until every queued job has been done (motest.Quiescer).
func (p *Pager) Quiesce() { p.busy.Wait() }

// PageSize is the pager's page size, the slot size of its stores.
func (p *Pager) PageSize() mo.Size { return p.ps }

// Stats returns the counters.
func (p *Pager) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *Pager) storeLocked(id mo.BackingStoreID) *backingStore {
	for _, bs := range p.stores {
		if bs.id == id {
			return bs
		}
	}
	return nil
}

// BackingStoreCreate implements mo.BackingStores: a store with no space
// (default_pager_backing_store_create). clusterSize is a multiple of the
// page size making a power of two of pages, at most MaxClusterPages; 0
// means DefaultClusterPages.
func (p *Pager) BackingStoreCreate(priority int, clusterSize mo.Size) (mo.BackingStoreID, error) {
	c := clusterSize / p.ps
	if clusterSize == 0 {
		c = DefaultClusterPages
	}
	if clusterSize%p.ps != 0 || c == 0 || c > MaxClusterPages || c&(c-1) != 0 {
		return 0, mo.KernInvalidArgument
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := &backingStore{id: p.nextStore, priority: priority, cluster: int(c)}
	p.nextStore++
	i := len(p.stores)
	for i > 0 && p.stores[i-1].priority < priority {
		i--
	}
	p.stores = append(p.stores, nil)
	copy(p.stores[i+1:], p.stores[i:])
	p.stores[i] = bs
	return bs.id, nil
}

// AddSegment gives store id the slots of st (default_pager_add_segment).
// KernInvalidArgument: no such store, a slot size other than the pager's
// page size, no slots, or st already a segment (it would overlap an
// existing partition).
func (p *Pager) AddSegment(id mo.BackingStoreID, st store.Store) error {
	if st == nil || mo.Size(st.PageSize()) != p.ps || st.Pages() == 0 || st.Pages() >= 1<<40 {
		return mo.KernInvalidArgument
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := p.storeLocked(id)
	if bs == nil || p.byStore[st] {
		return mo.KernInvalidArgument
	}
	n := st.Pages()
	sg := &segment{bs: bs, st: st, pages: n, free: n, used: make([]uint64, (n+63)/64)}
	if r := n % 64; r != 0 {
		sg.used[len(sg.used)-1] = ^uint64(0) << r
	}
	p.byStore[st] = true
	bs.segs = append(bs.segs, len(p.segs))
	p.segs = append(p.segs, sg)
	bs.free += n
	bs.pages += n
	return nil
}

// AddRAM is AddSegment with a RAM store of pages fresh pages, for tests
// and tools.
func (p *Pager) AddRAM(id mo.BackingStoreID, pages uint64) error {
	if pages == 0 || pages > 1<<24 {
		return mo.KernInvalidArgument
	}
	st, err := store.NewRAM(make([]byte, pages*uint64(p.ps)), int(p.ps))
	if err != nil {
		return err
	}
	return p.AddSegment(id, st)
}

// BackingStoreInfo implements mo.BackingStores.
func (p *Pager) BackingStoreInfo(id mo.BackingStoreID) (mo.BackingStoreInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := p.storeLocked(id)
	if bs == nil {
		return mo.BackingStoreInfo{}, mo.KernInvalidArgument
	}
	return mo.BackingStoreInfo{Priority: bs.priority, ClusterSize: mo.Size(bs.cluster) * p.ps,
		PageSize: p.ps, Pages: bs.pages, FreePages: bs.free}, nil
}

// Info is default_pager_info.
func (p *Pager) Info() Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	var in Info
	for _, bs := range p.stores {
		in.TotalSpace += mo.Size(bs.pages) * p.ps
		in.FreeSpace += mo.Size(bs.free) * p.ps
	}
	in.PageSize = p.ps
	return in
}

// Objects lists the objects (default_pager_objects).
func (p *Pager) Objects() []ObjectInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []ObjectInfo
	for _, o := range p.objects {
		out = append(out, ObjectInfo{ID: o.id, Size: o.size, Pages: uint64(o.stored), Kernels: len(o.kernels), Temporary: o.temporary})
	}
	return out
}

// ObjectPages lists where each stored page of an object is
// (default_pager_object_pages), in offset order; KernInvalidArgument for
// an unknown object.
func (p *Pager) ObjectPages(id ObjectID) ([]PageInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.objects {
		if o.id != id {
			continue
		}
		out := []PageInfo{}
		for u, r := range o.slots {
			if r == 0 {
				continue
			}
			sg := p.segs[segOf(r)]
			slot := slotOf(r)
			for _, si := range sg.bs.segs {
				if si == segOf(r) {
					break
				}
				slot += p.segs[si].pages
			}
			out = append(out, PageInfo{Offset: mo.Offset(u) * mo.Offset(p.ps), Store: sg.bs.id, Slot: slot})
		}
		return out, nil
	}
	return nil, mo.KernInvalidArgument
}

// Slot references: segment number plus one, and slot.
func ref(seg int, slot uint64) uint64 { return uint64(seg+1)<<40 | slot }
func segOf(r uint64) int              { return int(r>>40) - 1 }
func slotOf(r uint64) uint64          { return r & (1<<40 - 1) }

func (sg *segment) isUsed(s uint64) bool { return sg.used[s/64]&(1<<(s%64)) != 0 }

func (sg *segment) take(s uint64) {
	sg.used[s/64] |= 1 << (s % 64)
	sg.free--
	sg.bs.free--
}

func (sg *segment) release(s uint64) {
	sg.used[s/64] &^= 1 << (s % 64)
	sg.free++
	sg.bs.free++
}

// freeRun finds the first free aligned run of c slots (c a power of two,
// at most 64) from the hint on.
func (sg *segment) freeRun(c int) (uint64, bool) {
	mask := ^uint64(0)
	if c < 64 {
		mask = 1<<c - 1
	}
	n := len(sg.used)
	for i := 0; i < n; i++ {
		w := (sg.hint + i) % n
		word := sg.used[w]
		if word == ^uint64(0) {
			continue
		}
		for b := 0; b < 64; b += c {
			if word&(mask<<b) == 0 {
				sg.hint = w
				return uint64(w)*64 + uint64(b), true
			}
		}
	}
	return 0, false
}

// anyFree finds a free slot from the hint on.
func (sg *segment) anyFree() (uint64, bool) {
	n := len(sg.used)
	for i := 0; i < n; i++ {
		w := (sg.hint + i) % n
		if word := sg.used[w]; word != ^uint64(0) {
			sg.hint = w
			return uint64(w)*64 + uint64(bits.TrailingZeros64(^word)), true
		}
	}
	return 0, false
}

// freeLocked counts the free slots of every store but except.
// Preconditions: p.mu is held.
func (p *Pager) freeLocked(except *backingStore) uint64 {
	var n uint64
	for _, bs := range p.stores {
		if bs != except {
			n += bs.free
		}
	}
	return n
}

// allocLocked takes a slot for page u of o in the first store, by
// priority, other than except that has one; 0 if none has.
// Preconditions: p.mu is held.
func (p *Pager) allocLocked(o *Object, u int, except *backingStore) uint64 {
	for _, bs := range p.stores {
		if bs == except || bs.free == 0 {
			continue
		}
		c := bs.cluster
		base := u &^ (c - 1)
		for j := base; j < base+c && j < len(o.slots); j++ {
			r := o.slots[j]
			if r == 0 || j == u {
				continue
			}
			si := segOf(r)
			sg := p.segs[si]
			if sg.bs != bs {
				continue
			}
			cand := int64(slotOf(r)) + int64(u-j)
			if cand >= 0 && uint64(cand) < sg.pages && !sg.isUsed(uint64(cand)) {
				sg.take(uint64(cand))
				return ref(si, uint64(cand))
			}
		}
		for _, si := range bs.segs {
			sg := p.segs[si]
			if s, ok := sg.freeRun(c); ok {
				s += uint64(u - base)
				sg.take(s)
				return ref(si, s)
			}
		}
		for _, si := range bs.segs {
			sg := p.segs[si]
			if s, ok := sg.anyFree(); ok {
				sg.take(s)
				return ref(si, s)
			}
		}
	}
	return 0
}

// releaseLocked frees the slot r names. Preconditions: p.mu is held.
func (p *Pager) releaseLocked(r uint64) { p.segs[segOf(r)].release(slotOf(r)) }

// BackingStoreDelete implements mo.BackingStores
// (default_pager_backing_store_delete); see the package documentation.
func (p *Pager) BackingStoreDelete(id mo.BackingStoreID) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := p.storeLocked(id)
	if bs == nil {
		return mo.KernInvalidArgument
	}
	if p.cfg.NoDelete {
		return mo.KernFailure
	}
	if used := bs.pages - bs.free; used > p.freeLocked(bs) {
		return fmt.Errorf("%w: %d pages cannot move into %d free slots", mo.KernInvalidArgument, used, p.freeLocked(bs))
	}
	buf := p.getBufLocked()[:p.ps]
	defer p.putBufLocked(buf)
	p.moves = p.moves[:0]
	undo := func() {
		for _, m := range p.moves {
			m.o.slots[m.u] = m.from
			p.releaseLocked(m.to)
		}
		p.moves = p.moves[:0]
	}
	for _, o := range p.objects {
		for u, r := range o.slots {
			if r == 0 || p.segs[segOf(r)].bs != bs {
				continue
			}
			to := p.allocLocked(o, u, bs)
			if to == 0 { // cannot happen: counted above
				undo()
				return mo.KernInvalidArgument
			}
			o.slots[u] = to
			p.moves = append(p.moves, move{o, u, r, to})
			if err := p.segs[segOf(r)].st.ReadPage(slotOf(r), buf); err != nil {
				p.stats.ReadErrors++
				undo()
				return fmt.Errorf("%w: page %#x of object %d cannot be read: %w", mo.KernInvalidArgument, u*int(p.ps), o.id, err)
			}
			if err := p.segs[segOf(to)].st.WritePage(slotOf(to), buf); err != nil {
				p.stats.WriteErrors++
				undo()
				return fmt.Errorf("%w: page %#x of object %d cannot be written: %w", mo.KernInvalidArgument, u*int(p.ps), o.id, err)
			}
		}
	}
	p.stats.Moved += uint64(len(p.moves))
	p.moves = p.moves[:0]
	for _, si := range bs.segs {
		delete(p.byStore, p.segs[si].st)
		p.segs[si] = nil
	}
	for i, x := range p.stores {
		if x == bs {
			p.stores = append(p.stores[:i], p.stores[i+1:]...)
			break
		}
	}
	return nil
}

// getBufLocked takes a reserve buffer, waiting for one to come back if
// all are in use. Preconditions: p.mu is held.
func (p *Pager) getBufLocked() []byte {
	for len(p.bufs) == 0 {
		p.cond.Wait()
	}
	b := p.bufs[len(p.bufs)-1]
	p.bufs = p.bufs[:len(p.bufs)-1]
	return b
}

// putBufLocked returns a reserve buffer. Preconditions: p.mu is held.
func (p *Pager) putBufLocked(b []byte) {
	p.bufs = append(p.bufs, b[:cap(b)])
	p.cond.Broadcast()
}

// CheckInvariants checks the slot accounting of the package doc.
func (p *Pager) CheckInvariants() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := make(map[uint64]bool)
	for _, o := range p.objects {
		n := 0
		for u, r := range o.slots {
			if r == 0 {
				continue
			}
			n++
			si := segOf(r)
			if si < 0 || si >= len(p.segs) || p.segs[si] == nil {
				return fmt.Errorf("object %d page %d: slot in a deleted segment", o.id, u)
			}
			if !p.segs[si].isUsed(slotOf(r)) {
				return fmt.Errorf("object %d page %d: slot %d of segment %d is free", o.id, u, slotOf(r), si)
			}
			if seen[r] {
				return fmt.Errorf("object %d page %d: slot %d of segment %d is shared", o.id, u, slotOf(r), si)
			}
			seen[r] = true
		}
		if n != o.stored {
			return fmt.Errorf("object %d: %d pages stored, counted %d", o.id, n, o.stored)
		}
	}
	for _, bs := range p.stores {
		var free, pages uint64
		for _, si := range bs.segs {
			sg := p.segs[si]
			var f uint64
			for w, word := range sg.used {
				f += uint64(bits.OnesCount64(^word))
				_ = w
			}
			if f != sg.free {
				return fmt.Errorf("segment %d: %d free, counted %d", si, f, sg.free)
			}
			used := sg.pages - sg.free
			var refs uint64
			for r := range seen {
				if segOf(r) == si {
					refs++
				}
			}
			if refs != used {
				return fmt.Errorf("segment %d: %d slots used, %d referenced", si, used, refs)
			}
			free += f
			pages += sg.pages
		}
		if free != bs.free || pages != bs.pages {
			return fmt.Errorf("store %d: free %d pages %d, counted %d %d", bs.id, free, pages, bs.free, bs.pages)
		}
	}
	return nil
}
