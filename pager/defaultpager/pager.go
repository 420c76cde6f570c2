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
	// ClusterPages is the cluster size the pager announces to each kernel
	// in ready (mo.Attributes.ClusterSize), in pages of PageSize: the
	// kernel asks for the aligned cluster around a missing page with one
	// data_request (see the package documentation, Clusters of
	// page-ins). 0 chooses it from the stores when a kernel maps an
	// object: the cluster size of the store of highest priority that has
	// segments, if each of them is a store.RunStore; one page otherwise. 1 asks for one page per data_request. Otherwise a power
	// of two up to MaxClusterPages.
	ClusterPages int
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
	Handoffs                uint64 // kernel pages answered after their data_request returned, for want of a free buffer
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

	// admin serialises the calls that change the shape of the pager
	// (stores, segments, objects, an object's kernels) and is held while
	// they allocate; Pager.mu never is (see the package documentation).
	admin   sync.Mutex
	byStore map[store.Store]bool // protected by admin: stores in use as segments

	mu        sync.Mutex
	cond      sync.Cond         // L is &mu: an inflight count dropped
	stores    []*backingStore   // written with admin and mu held, read with either: by priority, then creation
	segs      []*segment        // written with admin and mu held, read with either: by number; nil once deleted
	objects   []*Object         // written with admin and mu held, read with either; gone objects stay until the next newObject
	bufs      [][]byte          // protected by mu: free reserve buffers (capacity Buffers: putting one back allocates nothing)
	pending   int               // protected by mu: kernel pages left pending by page-ins that found no free buffer
	blocking  int               // protected by mu: segments over stores that are not store.FaultSafe
	inlined   bool              // protected by mu: some object answered FaultSafe true
	nextStore mo.BackingStoreID // protected by mu
	nextObj   ObjectID          // protected by mu
	stats     Stats             // protected by mu
}

type backingStore struct {
	id       mo.BackingStoreID
	priority int
	cluster  int    // pages, a power of two
	segs     []int  // written with admin and mu held: segment numbers, in order added
	free     uint64 // protected by mu
	pages    uint64 // written with admin and mu held
}

type segment struct {
	bs    *backingStore
	st    store.Store
	safe  bool     // st is store.FaultSafe
	used  []uint64 // protected by mu: bit set: slot used; bits past pages are set
	pages uint64
	free  uint64
	hint  int // word to start scanning at
}

type move struct {
	o        *Object
	u        int
	from, to uint64
}

// moveErr is a failure of BackingStoreDelete, kept while mu is held and
// formatted once it is released.
type moveErr struct {
	write bool
	u     int
	id    ObjectID
	err   error
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
		cfg.MaxPageSize < cfg.PageSize || cfg.Buffers < 1 || cfg.Buffers > 1024 || cfg.QueueLen < 1 ||
		cfg.ClusterPages < 0 || cfg.ClusterPages > MaxClusterPages || cfg.ClusterPages&(cfg.ClusterPages-1) != 0 {
		return nil, mo.KernInvalidArgument
	}
	p := &Pager{ps: cfg.PageSize, maxPS: cfg.MaxPageSize, cfg: cfg, nextStore: 1, nextObj: 1,
		byStore: make(map[store.Store]bool), bufs: make([][]byte, 0, cfg.Buffers)}
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

// attributes are the attributes announced to a kernel of page size kps
// (ready): the cluster size is Config.ClusterPages, or the one chosen from
// the stores, in bytes, rounded down to a whole number of kernel pages; 0
// (one page) if that is at most one.
func (p *Pager) attributes(strategy mo.CopyStrategy, kps mo.Size) mo.Attributes {
	c := p.cfg.ClusterPages
	if c == 0 {
		c = 1
		p.mu.Lock()
		for _, bs := range p.stores {
			if len(bs.segs) == 0 {
				continue
			}
			c = bs.cluster
			for _, sg := range bs.segs {
				if _, ok := p.segs[sg].st.(store.RunStore); !ok {
					c = 1
				}
			}
			break
		}
		p.mu.Unlock()
	}
	size := min(mo.Size(c)*p.ps, 16*mo.MaxPageSize) / kps * kps
	if size <= kps {
		size = 0
	}
	return mo.Attributes{CopyStrategy: strategy, ClusterSize: size}
}

// NewOver returns a pager of cfg with one backing store (priority 0, the
// default cluster size) whose segments are stores, in order: New,
// BackingStoreCreate and AddSegment for each, the common setup.
func NewOver(cfg Config, stores ...store.Store) (*Pager, error) {
	p, err := New(cfg)
	if err != nil {
		return nil, err
	}
	id, err := p.BackingStoreCreate(0, 0)
	if err != nil {
		p.Close()
		return nil, err
	}
	for _, st := range stores {
		if err := p.AddSegment(id, st); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
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
	p.admin.Lock()
	defer p.admin.Unlock()
	bs := &backingStore{priority: priority, cluster: int(c)}
	i := len(p.stores)
	for i > 0 && p.stores[i-1].priority < priority {
		i--
	}
	stores := make([]*backingStore, 0, len(p.stores)+1)
	stores = append(append(append(stores, p.stores[:i]...), bs), p.stores[i:]...)
	p.mu.Lock()
	bs.id = p.nextStore
	p.nextStore++
	p.stores = stores
	p.mu.Unlock()
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
	p.admin.Lock()
	defer p.admin.Unlock()
	bs := p.storeLocked(id)
	if bs == nil || p.byStore[st] {
		return mo.KernInvalidArgument
	}
	safe := store.IsFaultSafe(st)
	n := st.Pages()
	sg := &segment{bs: bs, st: st, safe: safe, pages: n, free: n, used: make([]uint64, (n+63)/64)}
	if r := n % 64; r != 0 {
		sg.used[len(sg.used)-1] = ^uint64(0) << r
	}
	bsegs := append(append(make([]int, 0, len(bs.segs)+1), bs.segs...), len(p.segs))
	segs := append(append(make([]*segment, 0, len(p.segs)+1), p.segs...), sg)
	p.mu.Lock()
	if !safe && p.inlined {
		p.mu.Unlock()
		return fmt.Errorf("%w: the store is not fault-safe, and the fault handler calls this pager's objects", mo.KernInvalidArgument)
	}
	if !safe {
		p.blocking++
	}
	bs.segs = bsegs
	p.segs = segs
	bs.free += n
	bs.pages += n
	p.mu.Unlock()
	p.byStore[st] = true
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
	p.admin.Lock()
	defer p.admin.Unlock()
	out := make([]ObjectInfo, 0, len(p.objects))
	p.mu.Lock()
	for _, o := range p.objects {
		if !o.gone {
			out = append(out, ObjectInfo{ID: o.id, Size: o.size, Pages: uint64(o.stored), Kernels: o.liveLocked(), Temporary: o.temporary})
		}
	}
	p.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	return out
}

// ObjectPages lists where each stored page of an object is
// (default_pager_object_pages), in offset order; KernInvalidArgument for
// an unknown object.
func (p *Pager) ObjectPages(id ObjectID) ([]PageInfo, error) {
	p.admin.Lock()
	defer p.admin.Unlock()
	var o *Object
	for _, x := range p.objects {
		if x.id == id {
			o = x
		}
	}
	var out []PageInfo
	for {
		p.mu.Lock()
		if o == nil || o.gone {
			p.mu.Unlock()
			return nil, mo.KernInvalidArgument
		}
		if n := o.stored; n > cap(out) {
			// Page-outs may store more while mu is not held, and
			// nothing is allocated with it held: size, then fill.
			p.mu.Unlock()
			out = make([]PageInfo, 0, n+n/4+8)
			continue
		}
		out = out[:0]
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
		p.mu.Unlock()
		if out == nil {
			out = []PageInfo{}
		}
		return out, nil
	}
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
	p.admin.Lock()
	defer p.admin.Unlock()
	bs := p.storeLocked(id)
	if bs == nil {
		return mo.KernInvalidArgument
	}
	if p.cfg.NoDelete {
		return mo.KernFailure
	}
	// Allocated before mu is taken: the copy buffer (not from the reserve,
	// which is the page-ins'), the remaining stores and room for a move
	// per used slot of the store (page-outs may use more meanwhile: then
	// size again).
	buf := make([]byte, p.ps)
	stores := make([]*backingStore, 0, len(p.stores))
	for _, x := range p.stores {
		if x != bs {
			stores = append(stores, x)
		}
	}
	var moves []move
	for {
		p.mu.Lock()
		used := bs.pages - bs.free
		if used <= uint64(cap(moves)) {
			break
		}
		p.mu.Unlock()
		moves = make([]move, 0, used+used/8+8)
	}
	if used, free := bs.pages-bs.free, p.freeLocked(bs); used > free {
		p.mu.Unlock()
		return fmt.Errorf("%w: %d pages cannot move into %d free slots", mo.KernInvalidArgument, used, free)
	}
	undo := func() {
		for _, m := range moves {
			m.o.slots[m.u] = m.from
			p.releaseLocked(m.to)
		}
	}
	var fail *moveErr
	var ferr moveErr
objects:
	for _, o := range p.objects {
		for u, r := range o.slots {
			if r == 0 || p.segs[segOf(r)].bs != bs {
				continue
			}
			to := p.allocLocked(o, u, bs)
			if to == 0 { // cannot happen: counted above
				undo()
				p.mu.Unlock()
				return mo.KernInvalidArgument
			}
			o.slots[u] = to
			moves = append(moves, move{o, u, r, to})
			if err := p.segs[segOf(r)].st.ReadPage(slotOf(r), buf); err != nil {
				p.stats.ReadErrors++
				ferr, fail = moveErr{u: u, id: o.id, err: err}, &ferr
				break objects
			}
			if err := p.segs[segOf(to)].st.WritePage(slotOf(to), buf); err != nil {
				p.stats.WriteErrors++
				ferr, fail = moveErr{write: true, u: u, id: o.id, err: err}, &ferr
				break objects
			}
		}
	}
	if fail != nil {
		undo()
		p.mu.Unlock()
		what := "read"
		if fail.write {
			what = "written"
		}
		return fmt.Errorf("%w: page %#x of object %d cannot be %s: %w", mo.KernInvalidArgument, fail.u*int(p.ps), fail.id, what, fail.err)
	}
	p.stats.Moved += uint64(len(moves))
	for _, si := range bs.segs {
		if !p.segs[si].safe {
			p.blocking--
		}
		delete(p.byStore, p.segs[si].st)
		p.segs[si] = nil
	}
	p.stores = stores
	p.mu.Unlock()
	return nil
}

// takeBufLocked takes a reserve buffer, or returns nil if every one is in
// use; it never waits. Preconditions: p.mu is held.
func (p *Pager) takeBufLocked() []byte {
	if len(p.bufs) == 0 {
		return nil
	}
	b := p.bufs[len(p.bufs)-1]
	p.bufs = p.bufs[:len(p.bufs)-1]
	return b
}

// putBufLocked returns a reserve buffer; it allocates nothing, since
// p.bufs has room for every buffer. Preconditions: p.mu is held.
func (p *Pager) putBufLocked(b []byte) {
	p.bufs = append(p.bufs, b[:cap(b)])
}

// CheckInvariants checks the slot accounting of the package doc.
func (p *Pager) CheckInvariants() error {
	p.admin.Lock()
	defer p.admin.Unlock()
	// Allocated before mu is taken: a bitmap of seen slots per segment.
	seen := make([][]uint64, len(p.segs))
	for si, sg := range p.segs {
		if sg != nil {
			seen[si] = make([]uint64, len(sg.used))
		}
	}
	p.mu.Lock()
	v := p.checkLocked(seen)
	p.mu.Unlock()
	if v.what == "" {
		return nil
	}
	return fmt.Errorf("%s: %d %d %d %d", v.what, v.a, v.b, v.c, v.d)
}

// violation is an invariant found broken, formatted once mu is released.
type violation struct {
	what       string
	a, b, c, d uint64
}

// checkLocked is CheckInvariants. Preconditions: p.admin and p.mu are
// held.
func (p *Pager) checkLocked(seen [][]uint64) violation {
	for _, o := range p.objects {
		if o.gone {
			continue
		}
		n := 0
		for u, r := range o.slots {
			if r == 0 {
				continue
			}
			n++
			si := segOf(r)
			if si < 0 || si >= len(p.segs) || p.segs[si] == nil {
				return violation{"object, page: slot in a deleted segment", uint64(o.id), uint64(u), 0, 0}
			}
			s := slotOf(r)
			if s >= p.segs[si].pages || !p.segs[si].isUsed(s) {
				return violation{"object, page: slot of segment is free", uint64(o.id), uint64(u), s, uint64(si)}
			}
			if seen[si][s/64]&(1<<(s%64)) != 0 {
				return violation{"object, page: slot of segment is shared", uint64(o.id), uint64(u), s, uint64(si)}
			}
			seen[si][s/64] |= 1 << (s % 64)
		}
		if n != o.stored {
			return violation{"object: pages stored, counted", uint64(o.id), uint64(n), uint64(o.stored), 0}
		}
	}
	for _, bs := range p.stores {
		var free, pages uint64
		for _, si := range bs.segs {
			sg := p.segs[si]
			var f, refs uint64
			for w, word := range sg.used {
				f += uint64(bits.OnesCount64(^word))
				refs += uint64(bits.OnesCount64(seen[si][w]))
			}
			if f != sg.free {
				return violation{"segment: free, counted", uint64(si), f, sg.free, 0}
			}
			if used := sg.pages - sg.free; refs != used {
				return violation{"segment: slots used, referenced", uint64(si), used, refs, 0}
			}
			free += f
			pages += sg.pages
		}
		if free != bs.free || pages != bs.pages {
			return violation{"store: free, pages, counted", uint64(bs.id), free, pages, bs.free<<32 | bs.pages}
		}
	}
	return violation{}
}
