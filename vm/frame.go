package vm

import "github.com/tamach/tamach/mo"

// PhysMem reaches the memory of page frames by physical address. On the
// target the frame pool is identity mapped and Bytes returns a slice over
// it (a later tamago-only file); on the host SliceMem pretends a Go byte
// slice is physical memory at a base address. The kernel touches frame
// memory only through PhysMem, never through a window, so doing it with
// the kernel lock held cannot fault.
type PhysMem interface {
	// Bytes returns the n bytes at physical address pa. It must not
	// allocate: it is called on the fault path.
	Bytes(pa, n uint32) []byte
}

// SliceMem is host physical memory: Mem stands for [Base, Base+len(Mem)).
type SliceMem struct {
	Base uint32
	Mem  []byte
}

// Bytes implements PhysMem. An address outside Mem panics: it is a vm bug.
func (m *SliceMem) Bytes(pa, n uint32) []byte {
	off := pa - m.Base
	return m.Mem[off : off+n : off+n]
}

// Page states, kept in frame.flags. The names and meanings follow GNU
// Mach's struct vm_page (vm/vm_page.h): busy ("page is in transit"),
// wanted ("someone is waiting for page"), absent ("data has been
// requested, but is not yet available"), error ("data manager was unable
// to provide data due to error"), dirty ("page must be cleaned"), precious
// ("data must be returned even if clean"), reference ("page has been
// used"), laundry ("page is being cleaned now"), tabled ("page is in VP
// table"), free. page_lock and unlock_request are in frame.lock.
const (
	pgFree          uint16 = 1 << iota // on the free list; every other bit clear
	pgTabled                           // in the (object, offset) hash
	pgBusy                             // in transit: requested (with absent) or being returned (with laundry)
	pgAbsent                           // data_request sent, no answer yet
	pgWanted                           // a goroutine waits for busy to clear
	pgError                            // data_error: accesses fail
	pgDirty                            // modified since supplied or last returned
	pgPrecious                         // the pager keeps no copy: return even clean
	pgReferenced                       // used since the clock hand last passed
	pgLaundry                          // data_return in progress (with busy)
	pgUnavailable                      // filled by data_unavailable: the pager never had the data (data_initialize on page-out)
	pgKept                             // its pager refused MaxPageOutRefusals page-outs in a row: kept, dirty, not offered for page-out by the clock
	pgUnlockRefused                    // the pager refused a data_unlock for it: the next access its lock prohibits fails
)

// frame is the metadata of one page frame: 16 bytes (checked by a test).
// All fields are protected by Kernel.mu.
type frame struct {
	next  uint32 // hash chain or free list: frame index + 1, 0 ends
	index uint32 // page index within the object (offset / page size)
	obj   uint16 // object id (its slot in Kernel.objects + 1); 0 when free
	flags uint16 // pg* bits
	lock  uint8  // page_lock (prohibited access) in bits 0-2, unlock_request in bits 3-5
	wire  uint8  // wire count
	// refusals counts the page-outs of this page its pager refused in a
	// row (dirty or precious data kept); MaxPageOutRefusals sets pgKept.
	refusals uint8
	_        byte
}

func (f *frame) pageLock() mo.Prot      { return mo.Prot(f.lock & 7) }
func (f *frame) unlockRequest() mo.Prot { return mo.Prot(f.lock >> 3 & 7) }
func (f *frame) setPageLock(p mo.Prot)  { f.lock = f.lock&^7 | uint8(p&7) }
func (f *frame) setUnlockRequest(p mo.Prot) {
	f.lock = f.lock&^(7<<3) | uint8(p&7)<<3
}

const maxWire = 255

// pool is the frame pool and page cache: frames over [base, base+n*ps),
// a free list, and a hash from (object, page index) to frame, chained
// through frame.next. Nothing in it allocates after newPool.
// Every field is protected by Kernel.mu.
type pool struct {
	base    uint32
	shift   uint // log2 of the page size
	frames  []frame
	buckets []uint32 // frame index + 1 of the chain head, 0 for none
	free    uint32   // free list head, frame index + 1
	nfree   int
	hand    int // clock hand
}

func newPool(base uint32, n int, shift uint) *pool {
	nb := 1
	for nb < n {
		nb <<= 1
	}
	p := &pool{base: base, shift: shift, frames: make([]frame, n), buckets: make([]uint32, nb)}
	for i := n - 1; i >= 0; i-- {
		p.frames[i] = frame{flags: pgFree, next: p.free}
		p.free = uint32(i + 1)
	}
	p.nfree = n
	return p
}

func (p *pool) pa(i int) uint32 { return p.base + uint32(i)<<p.shift }

// offsetOf returns the object offset of page index: a 32x32-bit multiply,
// where a 64-bit shift by a variable count costs a dozen instructions on
// ARM.
func (k *Kernel) offsetOf(index uint32) mo.Offset {
	return mo.Offset(uint64(index) * uint64(k.ps))
}

// bucket is the hash chain of (obj, index): the consecutive pages of an
// object go to consecutive buckets (no two of them collide while the
// object has fewer pages than there are buckets), and objects start far
// apart (a multiple of the golden ratio's 32-bit fraction). One multiply:
// the fault path computes it on every fault.
func (p *pool) bucket(obj uint16, index uint32) *uint32 {
	return &p.buckets[(index+uint32(obj)*0x9e3779b1)&uint32(len(p.buckets)-1)]
}

// lookup returns the frame holding (obj, index), or -1.
func (p *pool) lookup(obj uint16, index uint32) int {
	for i := *p.bucket(obj, index); i != 0; {
		f := &p.frames[i-1]
		if f.obj == obj && f.index == index {
			return int(i - 1)
		}
		i = f.next
	}
	return -1
}

// alloc takes a frame off the free list and enters it in the hash for
// (obj, index) with the given flags (pgTabled is added), or returns -1.
func (p *pool) alloc(obj uint16, index uint32, flags uint16) int {
	if p.free == 0 {
		return -1
	}
	i := int(p.free - 1)
	f := &p.frames[i]
	p.free = f.next
	p.nfree--
	b := p.bucket(obj, index)
	*f = frame{next: *b, index: index, obj: obj, flags: flags | pgTabled}
	*b = uint32(i + 1)
	return i
}

// release takes frame i out of the hash and puts it on the free list.
// Preconditions: frame i is tabled (its hash chain holds it).
func (p *pool) release(i int) {
	f := &p.frames[i]
	link := p.bucket(f.obj, f.index)
	for *link != uint32(i+1) {
		link = &p.frames[*link-1].next
	}
	*link = f.next
	f.next, f.index, f.obj, f.flags, f.lock, f.wire = p.free, 0, 0, pgFree, 0, 0
	p.free = uint32(i + 1)
	p.nfree++
}
