package vm

import (
	"fmt"
	"sort"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// Inheritance is a range's vm_inherit_t. A TamaGo program is one task, so
// nothing inherits yet; the value is kept for the day tasks exist.
type Inheritance uint8

const (
	InheritShare Inheritance = iota
	InheritCopy
	InheritNone
)

// mapEntry maps [start, start+size) of the window to object o from
// offset off, with protection prot (GNU Mach's vm_map_entry). Protected
// by Kernel.mu.
type mapEntry struct {
	start, size uint32
	obj         *object
	off         mo.Offset
	first       uint32 // page index of off (off >> page shift), for the fault path
	prot        mo.Prot
	inh         Inheritance
	behavior    Behavior
	region      *Region
}

// vaOfIndex is vaOf for the page index of o, with 32-bit arithmetic (the
// shift masked to 5 bits, which spares ARM the test for shifts of 32 and
// more).
func (e *mapEntry) vaOfIndex(o *object, index uint32, shift uint) (uint32, bool) {
	if e.obj != o || index-e.first >= e.size>>(shift&31) {
		return 0, false
	}
	return e.start + (index-e.first)<<(shift&31), true
}

// indexOf returns the page index in e's object of the page holding va,
// with 32-bit arithmetic only (a 64-bit shift by a variable count costs
// a dozen instructions on ARM). Preconditions: va is in e.
func (e *mapEntry) indexOf(va uint32, shift uint) uint32 {
	return e.first + (va-e.start)>>(shift&31)
}

func (e *mapEntry) end() uint32 { return e.start + e.size }

// vaOf returns the address at which e maps offset off of o.
func (e *mapEntry) vaOf(o *object, off mo.Offset) (uint32, bool) {
	if e.obj != o || off < e.off || off-e.off >= mo.Offset(e.size) {
		return 0, false
	}
	return e.start + uint32(off-e.off), true
}

// wiredAt reports whether the region wired the page at va.
func (e *mapEntry) wiredAt(va uint32) bool {
	r := e.region
	return r.wired != nil && r.wired[(va-r.start)>>r.k.shift] != 0
}

// entryAtLocked finds the entry containing va: the one found last if it
// still does (inline), else by binary search. It allocates nothing.
// Preconditions: k.mu is held.
func (k *Kernel) entryAtLocked(va uint32) *mapEntry {
	if h := k.hint; h < len(k.entries) && va-k.entries[h].start < k.entries[h].size {
		return &k.entries[h]
	}
	return k.searchEntryLocked(va)
}

// searchEntryLocked is entryAtLocked's binary search.
// Preconditions: k.mu is held.
func (k *Kernel) searchEntryLocked(va uint32) *mapEntry {
	lo, hi := 0, len(k.entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k.entries[m].end() <= va {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(k.entries) && k.entries[lo].start <= va {
		k.hint = lo
		return &k.entries[lo]
	}
	return nil
}

// Region is a range of the window mapped to a memory object. Its memory
// is reached through the window on the target (Addr); ReadAt and WriteAt
// copy through the page cache anywhere and return an error for pages in
// error. No Go pointer may be stored in window memory: the garbage
// collector does not scan it.
type Region struct {
	k     *Kernel
	o     *object
	start uint32
	size  uint32
	off   mo.Offset
	wired []uint8 // protected by k.mu: per page, 1 if this region wired it
	gone  bool    // protected by k.mu
}

// Addr returns the first address of the region.
func (r *Region) Addr() uint32 { return r.start }

// Size returns the region's size in bytes.
func (r *Region) Size() uint32 { return r.size }

// MapOptions qualify Map.
type MapOptions struct {
	// Addr is where to map (page aligned); 0 means the first gap that fits.
	Addr uint32
	// Prot is the protection; 0 means read and write.
	Prot mo.Prot
	// Inheritance is kept with the range.
	Inheritance Inheritance
	// Behavior is how the range is expected to be accessed; it shapes
	// the clusters of its page-ins (Region.SetBehavior).
	Behavior Behavior
}

// Behavior is how a range is expected to be accessed (Mach's
// vm_behavior_set, POSIX madvise): it chooses which missing pages a
// page-in asks the pager for with the one that faulted, when the object's
// attributes set a cluster size (mo.Attributes.ClusterSize) larger than a
// page. A cluster never takes a resident page, a page of anonymous memory
// never paged out, nor frames below the low mark.
type Behavior uint8

const (
	// BehaviorDefault asks for the aligned cluster around the page: the
	// cluster size's worth of pages that holds it.
	BehaviorDefault Behavior = iota
	// BehaviorRandom asks for the page alone: neighbours are not read
	// ahead (random or strided access, where they would be evicted
	// before they are used).
	BehaviorRandom
	// BehaviorSequential asks for the page and the cluster size's worth
	// of pages after it, not before (a forward scan).
	BehaviorSequential
	behaviorCount
)

func (b Behavior) String() string {
	switch b {
	case BehaviorDefault:
		return "default"
	case BehaviorRandom:
		return "random"
	case BehaviorSequential:
		return "sequential"
	}
	return fmt.Sprintf("Behavior(%d)", uint8(b))
}

// Map maps size bytes of obj, an object of objSize bytes, from offset off
// into the window. The first mapping of an object in this kernel sends
// init (the object answers with ready, perhaps later: faults wait for it).
func (k *Kernel) Map(obj mo.Object, objSize mo.Size, off mo.Offset, size uint32, opt MapOptions) (*Region, error) {
	if obj == nil {
		return nil, fmt.Errorf("%w: nil object", ErrConfig)
	}
	if objSize == 0 || uint64(objSize)&uint64(k.ps-1) != 0 {
		return nil, fmt.Errorf("%w: object size %#x", ErrAlign, uint64(objSize))
	}
	if err := k.checkMapArgs(objSize, off, size, opt); err != nil {
		return nil, err
	}
	k.mu.Lock()
	o := k.byPager[obj]
	fresh := o == nil || !o.live()
	if !fresh && o.size != objSize {
		k.mu.Unlock()
		return nil, fmt.Errorf("%w: object already mapped with size %#x", ErrRange, uint64(o.size))
	}
	if fresh {
		var err error
		if o, err = k.newObjectLocked(obj, objSize); err != nil {
			k.mu.Unlock()
			return nil, err
		}
	}
	r, err := k.insertLocked(o, off, size, opt)
	if err != nil {
		if fresh {
			k.forgetObjectLocked(o)
		}
		k.mu.Unlock()
		return nil, err
	}
	k.mu.Unlock()
	if fresh {
		if err := k.initObject(o); err != nil {
			k.mu.Lock()
			k.removeEntriesLocked(r)
			k.mu.Unlock()
			return nil, err
		}
	}
	return r, nil
}

// Allocate maps size bytes of new anonymous memory, backed by an object
// the default pager creates (memory_object_create stands for init).
func (k *Kernel) Allocate(size uint32, opt MapOptions) (*Region, error) {
	if k.dp == nil {
		return nil, fmt.Errorf("%w: no default pager", ErrConfig)
	}
	if err := k.checkMapArgs(mo.Size(size), 0, size, opt); err != nil {
		return nil, err
	}
	returned := make([]uint32, (size>>k.shift+31)/32)
	k.mu.Lock()
	o, err := k.newObjectLocked(nil, mo.Size(size))
	if err != nil {
		k.mu.Unlock()
		return nil, err
	}
	o.attr.CopyStrategy = mo.CopyTemporary
	o.returned = returned
	r, err := k.insertLocked(o, 0, size, opt)
	if err != nil {
		k.forgetObjectLocked(o)
		k.mu.Unlock()
		return nil, err
	}
	o.seq = 1 // create is seqno 0
	k.mu.Unlock()
	d, err := k.callCreate(o, mo.Size(size), mo.Size(k.ps))
	k.record(o, mo.OpCreate, 0, 0, mo.Size(size), 0, 0, 0, err)
	k.mu.Lock()
	if err != nil {
		o.state = objTerminated
		k.removeEntriesLocked(r)
		k.mu.Unlock()
		return nil, err
	}
	o.pager, o.def = d, d
	if fs, ok := d.(mo.FaultSafe); ok {
		o.inline = fs.FaultSafe()
	}
	k.byPager[d] = o
	k.mu.Unlock()
	return r, nil
}

func (k *Kernel) checkMapArgs(objSize mo.Size, off mo.Offset, size uint32, opt MapOptions) error {
	mask := uint64(k.ps - 1)
	if size == 0 || uint64(size)&mask != 0 || uint64(off)&mask != 0 || opt.Addr&uint32(mask) != 0 {
		return fmt.Errorf("%w: offset %#x size %#x addr %#x", ErrAlign, uint64(off), size, opt.Addr)
	}
	if uint64(off)+uint64(size) > uint64(objSize) {
		return fmt.Errorf("%w: offset %#x size %#x beyond the object's %#x", ErrRange, uint64(off), size, uint64(objSize))
	}
	if !opt.Prot.Valid() {
		return fmt.Errorf("%w: protection %#x", ErrProtection, uint8(opt.Prot))
	}
	if opt.Behavior >= behaviorCount {
		return fmt.Errorf("%w: behavior %d", ErrConfig, uint8(opt.Behavior))
	}
	return nil
}

// insertLocked places a new entry. Preconditions: k.mu is held.
func (k *Kernel) insertLocked(o *object, off mo.Offset, size uint32, opt MapOptions) (*Region, error) {
	if len(k.entries) == cap(k.entries) {
		return nil, fmt.Errorf("%w: %d mappings", ErrNoSpace, cap(k.entries))
	}
	base, wsize := k.pm.Base(), k.pm.Size()
	start := opt.Addr
	if start == 0 {
		// first fit
		start = base
		for i := range k.entries {
			if k.entries[i].start-start >= size && k.entries[i].start >= start {
				break
			}
			start = k.entries[i].end()
		}
	}
	if start < base || uint64(start)+uint64(size) > uint64(base)+uint64(wsize) {
		if opt.Addr == 0 {
			return nil, fmt.Errorf("%w: no gap of %#x bytes in the window", ErrNoSpace, size)
		}
		return nil, fmt.Errorf("%w: %#x+%#x outside the window %#x+%#x", ErrRange, start, size, base, wsize)
	}
	pos := sort.Search(len(k.entries), func(i int) bool { return k.entries[i].start >= start })
	if (pos > 0 && k.entries[pos-1].end() > start) || (pos < len(k.entries) && k.entries[pos].start < start+size) {
		return nil, fmt.Errorf("%w: %#x+%#x", ErrOverlap, start, size)
	}
	prot := opt.Prot
	if prot == 0 {
		prot = mo.ProtRead | mo.ProtWrite
	}
	r := &Region{k: k, o: o, start: start, size: size, off: off}
	k.entries = k.entries[:len(k.entries)+1]
	copy(k.entries[pos+1:], k.entries[pos:])
	k.entries[pos] = mapEntry{start: start, size: size, obj: o, off: off, first: uint32(off >> k.shift),
		prot: prot, inh: opt.Inheritance, behavior: opt.Behavior, region: r}
	o.mapRefs++
	return r, nil
}

// removeEntriesLocked unmaps r's pages (their modified state goes to the
// frames) and removes its entries; it returns the object if that was its
// last mapping. Preconditions: k.mu is held.
func (k *Kernel) removeEntriesLocked(r *Region) {
	o := r.o
	j := 0
	for i := range k.entries {
		e := &k.entries[i]
		if e.region != r {
			k.entries[j] = *e
			j++
			continue
		}
		for va := e.start; va < e.end(); va += k.ps {
			m, ok := k.pm.Lookup(va)
			if !ok {
				continue
			}
			if fi := k.pool.lookup(o.id, uint32((e.off+mo.Offset(va-e.start))>>k.shift)); fi >= 0 {
				fr := &k.pool.frames[fi]
				if m.Modified {
					fr.flags |= pgDirty
				}
				if r.wired != nil && r.wired[(va-r.start)>>k.shift] != 0 {
					fr.wire--
				}
			}
		}
		k.pm.Remove(e.start, e.end())
		o.mapRefs--
	}
	clear(k.entries[j:])
	k.entries = k.entries[:j]
	r.gone = true
	r.wired = nil
}

// Unmap removes the region. When the object's last mapping goes, it is
// terminated, unless its attributes let the kernel cache it.
func (r *Region) Unmap() error {
	k := r.k
	k.mu.Lock()
	if r.gone {
		k.mu.Unlock()
		return ErrUnmapped
	}
	k.removeEntriesLocked(r)
	o := r.o
	last := o.mapRefs == 0 && !o.attr.MayCache
	if o.mapRefs == 0 && !o.live() {
		k.forgetObjectLocked(o)
	}
	k.wakeLocked()
	k.mu.Unlock()
	if last {
		k.terminate(o)
	}
	return nil
}

func (r *Region) checkRange(off, n uint32) error {
	if off&(r.k.ps-1) != 0 || n&(r.k.ps-1) != 0 || n == 0 {
		return fmt.Errorf("%w: offset %#x size %#x", ErrAlign, off, n)
	}
	if uint64(off)+uint64(n) > uint64(r.size) {
		return fmt.Errorf("%w: offset %#x size %#x in a region of %#x", ErrRange, off, n, r.size)
	}
	return nil
}

// splitLocked makes an entry boundary at va inside r, if there is none.
// Preconditions: k.mu is held.
func (k *Kernel) splitLocked(va uint32) error {
	e := k.entryAtLocked(va)
	if e == nil || e.start == va {
		return nil
	}
	if len(k.entries) == cap(k.entries) {
		return fmt.Errorf("%w: %d mappings", ErrNoSpace, cap(k.entries))
	}
	pos := 0 // index of e
	for i := range k.entries {
		if &k.entries[i] == e {
			pos = i
		}
	}
	tail := *e
	tail.start, tail.size, tail.off = va, e.end()-va, e.off+mo.Offset(va-e.start)
	tail.first = e.indexOf(va, k.shift)
	k.entries[pos].size = va - e.start
	k.entries = k.entries[:len(k.entries)+1]
	copy(k.entries[pos+2:], k.entries[pos+1:])
	k.entries[pos+1] = tail
	tail.obj.mapRefs++
	return nil
}

// eachEntry checks [off, off+n) of the region (checkRange), then returns
// invalid if it is not nil (the caller's own check of its arguments), and
// otherwise makes the range a run of whole entries (splitting at both
// ends) and calls fn on each of them, with k.mu held.
func (r *Region) eachEntry(off, n uint32, invalid error, fn func(e *mapEntry)) error {
	if err := r.checkRange(off, n); err != nil {
		return err
	}
	if invalid != nil {
		return invalid
	}
	k := r.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if r.gone {
		return ErrUnmapped
	}
	start, end := r.start+off, r.start+off+n
	if err := k.splitLocked(start); err != nil {
		return err
	}
	if err := k.splitLocked(end); err != nil {
		return err
	}
	for i := range k.entries {
		if e := &k.entries[i]; e.region == r && e.start >= start && e.end() <= end {
			fn(e)
		}
	}
	return nil
}

// Protect sets the protection of [off, off+n) of the region (vm_protect).
// Lowering it takes effect at once; raising it takes effect at the next
// fault. The page locks the pager set still apply.
func (r *Region) Protect(off, n uint32, prot mo.Prot) error {
	var invalid error
	if !prot.Valid() {
		invalid = fmt.Errorf("%w: protection %#x", ErrProtection, uint8(prot))
	}
	k := r.k
	return r.eachEntry(off, n, invalid, func(e *mapEntry) {
		e.prot = prot
		// Harvest modified state before pmap forgets it (ProtNone removes).
		for va := e.start; va < e.end(); va += k.ps {
			if m, ok := k.pm.Lookup(va); ok && m.Modified {
				if fi := k.pool.lookup(e.obj.id, uint32((e.off+mo.Offset(va-e.start))>>k.shift)); fi >= 0 {
					k.pool.frames[fi].flags |= pgDirty
				}
			}
		}
		if prot&mo.ProtRead == 0 {
			k.pm.Remove(e.start, e.end())
		} else {
			k.pm.Protect(e.start, e.end(), moToPmap(prot))
		}
	})
}

// SetBehavior sets how [off, off+n) of the region is expected to be
// accessed (vm_behavior_set, madvise): it shapes the clusters of the
// range's later page-ins; what is resident stays.
func (r *Region) SetBehavior(off, n uint32, b Behavior) error {
	var invalid error
	if b >= behaviorCount {
		invalid = fmt.Errorf("%w: behavior %d", ErrConfig, uint8(b))
	}
	return r.eachEntry(off, n, invalid, func(e *mapEntry) { e.behavior = b })
}

// holdPage brings page index of o in for acc, waiting as needed, and
// returns its frame with k.mu held. On error k.mu is not held.
// A pager that calls it inside a call on o, from that call's goroutine,
// gets a *SelfDeadlockError for a page that needs a call or a wait: both
// would wait for the call it is inside.
func (k *Kernel) holdPage(o *object, index uint32, acc mo.Prot, b Behavior, call string) (int, error) {
	k.mu.Lock()
	for {
		var req request
		i, st := k.pageLocked(o, index, acc, b, &req, false)
		switch st {
		case stOK:
			return i, nil
		case stCall:
			if k.ownCall(o, 1) {
				k.unprepareLocked(o, &req)
				k.mu.Unlock()
				return -1, &SelfDeadlockError{Call: call, Object: o.pager, Offset: mo.Offset(index) << k.shift}
			}
			k.mu.Unlock()
			slot := k.enterCall(o)
			k.sendGuarded(o, &req)
			k.leaveCall(slot)
			k.mu.Lock()
		case stWait:
			if k.ownCall(o, 0) {
				k.mu.Unlock()
				return -1, &SelfDeadlockError{Call: call, Object: o.pager, Offset: mo.Offset(index) << k.shift}
			}
			k.waitLocked()
		case stError:
			err := &DataError{Offset: mo.Offset(index) << k.shift, Reason: o.errWhy}
			k.mu.Unlock()
			return -1, err
		case stTerminated:
			k.mu.Unlock()
			return -1, o.failedErr()
		case stUnlockRefused:
			err := &UnlockError{Offset: mo.Offset(index) << k.shift, Access: acc, Reason: o.unlockErr}
			k.mu.Unlock()
			return -1, err
		case stNoMemory:
			k.mu.Unlock()
			if k.reclaim(1) == 0 {
				k.mu.Lock()
				inTransit := k.laundering > 0
				if !inTransit {
					_, kept := k.freeableLocked()
					k.mu.Unlock()
					if kept {
						return -1, ErrPageOutRefused
					}
					return -1, ErrNoMemory
				}
				k.waitLocked()
				continue
			}
			k.mu.Lock()
		}
	}
}

// copyAt copies between p and the region from off through the page cache.
func (r *Region) copyAt(p []byte, off int64, write bool) (int, error) {
	k := r.k
	if off < 0 || uint64(off)+uint64(len(p)) > uint64(r.size) {
		return 0, fmt.Errorf("%w: offset %#x length %#x in a region of %#x", ErrRange, off, len(p), r.size)
	}
	acc := mo.ProtRead
	if write {
		acc = mo.ProtRead | mo.ProtWrite
	}
	done := 0
	for done < len(p) {
		va := r.start + uint32(off) + uint32(done)
		k.mu.Lock()
		if r.gone {
			k.mu.Unlock()
			return done, ErrUnmapped
		}
		e := k.entryAtLocked(va)
		if e == nil || e.region != r || e.prot&acc != acc {
			k.mu.Unlock()
			return done, fmt.Errorf("%w: %v at %#x", ErrProtection, acc, va)
		}
		o, objOff, b := e.obj, e.off+mo.Offset(va-e.start), e.behavior
		k.mu.Unlock()
		call := "ReadAt"
		if write {
			call = "WriteAt"
		}
		i, err := k.holdPage(o, uint32(objOff>>k.shift), acc, b, call)
		if err != nil {
			return done, err
		}
		in := uint32(objOff) & (k.ps - 1)
		frame := k.mem.Bytes(k.pool.pa(i), k.ps)
		var n int
		if write {
			n = copy(frame[in:], p[done:])
			k.pool.frames[i].flags |= pgDirty | pgReferenced
		} else {
			n = copy(p[done:], frame[in:])
			k.pool.frames[i].flags |= pgReferenced
		}
		k.mu.Unlock()
		done += n
	}
	return done, nil
}

// ReadAt copies from the region at off into p (io.ReaderAt), bringing
// pages in as needed. A page in error gives a *DataError.
func (r *Region) ReadAt(p []byte, off int64) (int, error) { return r.copyAt(p, off, false) }

// WriteAt copies p into the region at off (io.WriterAt); the pages become
// dirty. A page locked against writing is unlocked first (data_unlock).
func (r *Region) WriteAt(p []byte, off int64) (int, error) { return r.copyAt(p, off, true) }

// Wire brings [off, off+n) of the region in and keeps it resident and
// mapped so that it never faults (vm_wire), until Unwire or Unmap.
func (r *Region) Wire(off, n uint32) error {
	if err := r.checkRange(off, n); err != nil {
		return err
	}
	k := r.k
	for va := r.start + off; va < r.start+off+n; va += k.ps {
		k.mu.Lock()
		if r.gone {
			k.mu.Unlock()
			return ErrUnmapped
		}
		if r.wired == nil {
			r.wired = make([]uint8, r.size>>k.shift)
		}
		e := k.entryAtLocked(va)
		pi := (va - r.start) >> k.shift
		if r.wired[pi] != 0 {
			k.mu.Unlock()
			continue
		}
		acc := e.prot & (mo.ProtRead | mo.ProtWrite)
		o, index, b := e.obj, uint32((e.off+mo.Offset(va-e.start))>>k.shift), e.behavior
		k.mu.Unlock()
		i, err := k.holdPage(o, index, acc|mo.ProtRead, b, "Wire")
		if err != nil {
			return err
		}
		if r.gone || k.entryAtLocked(va) == nil {
			k.mu.Unlock()
			return ErrUnmapped
		}
		e = k.entryAtLocked(va)
		fr := &k.pool.frames[i]
		if fr.wire == maxWire {
			k.mu.Unlock()
			return fmt.Errorf("%w: page wired %d times", ErrNoSpace, maxWire)
		}
		prot := e.prot &^ fr.pageLock()
		if prot&mo.ProtWrite != 0 {
			fr.flags |= pgDirty
		}
		fr.wire++
		r.wired[pi] = 1
		err = k.pm.Enter(va, k.pool.pa(i), moToPmap(prot), pmap.MemNormal, k.psize, pmap.Wired)
		k.mu.Unlock()
		if err != nil {
			return fmt.Errorf("vm: wire %#x: %w", va, err)
		}
	}
	return nil
}

// Unwire undoes Wire for [off, off+n) of the region.
func (r *Region) Unwire(off, n uint32) error {
	if err := r.checkRange(off, n); err != nil {
		return err
	}
	k := r.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if r.gone {
		return ErrUnmapped
	}
	for va := r.start + off; va < r.start+off+n; va += k.ps {
		pi := (va - r.start) >> k.shift
		if r.wired == nil || r.wired[pi] == 0 {
			continue
		}
		r.wired[pi] = 0
		e := k.entryAtLocked(va)
		if i := k.pool.lookup(e.obj.id, uint32((e.off+mo.Offset(va-e.start))>>k.shift)); i >= 0 {
			k.pool.frames[i].wire--
		}
		k.pm.SetWired(va, false)
	}
	return nil
}

// Sync returns the dirty pages of [off, off+n) of the region to the pager
// (keeping them, clean) and then asks it to make them stable with
// synchronize, waiting for synchronize_completed (msync). If the pager
// refuses a page's data_return, that page stays dirty, synchronize is not
// sent, and Sync returns a *PageOutError wrapping the pager's error; a
// page kept after MaxPageOutRefusals refusals is offered again here, and
// is no longer kept once the pager takes it.
func (r *Region) Sync(off, n uint32) error {
	if err := r.checkRange(off, n); err != nil {
		return err
	}
	k := r.k
	k.mu.Lock()
	if r.gone {
		k.mu.Unlock()
		return ErrUnmapped
	}
	o := r.o
	objOff := r.off + mo.Offset(off)
	if k.ownCall(o, 0) {
		// Its pager, inside a call on o: synchronize would wait for
		// that call (its Sequencer turn), and the completion with it.
		k.mu.Unlock()
		return &SelfDeadlockError{Call: "Sync", Object: o.pager, Offset: objOff}
	}
	k.mu.Unlock()
	refused := k.returnRange(o, objOff, mo.Size(n), mo.ReturnDirty, false, noLockChange)
	k.mu.Lock()
	if !o.live() || o.destroy {
		k.mu.Unlock()
		return ErrTerminated
	}
	if refused != nil {
		k.mu.Unlock()
		return refused
	}
	o.syncs = append(o.syncs, syncReq{off: objOff, len: mo.Size(n)})
	s := o.beginCallLocked()
	k.mu.Unlock()
	slot := k.enterCall(o)
	err := k.callSynchronize(o, s, objOff, mo.Size(n), mo.SyncSynchronous)
	k.leaveCall(slot)
	o.endCall()
	k.record(o, mo.OpSynchronize, s, objOff, mo.Size(n), 0, 0, 0, err)
	k.mu.Lock()
	defer k.mu.Unlock()
	if !mo.Accepted(err) {
		k.dropSyncLocked(o, objOff, mo.Size(n))
		return err
	}
	for {
		done, found := k.syncDoneLocked(o, objOff, mo.Size(n))
		if done || !found {
			if !found {
				return ErrTerminated
			}
			return nil
		}
		if !o.live() {
			return ErrTerminated
		}
		k.waitLocked()
	}
}

func (k *Kernel) dropSyncLocked(o *object, off mo.Offset, n mo.Size) {
	for i, s := range o.syncs {
		if s.off == off && s.len == n {
			o.syncs = append(o.syncs[:i], o.syncs[i+1:]...)
			return
		}
	}
}

// syncDoneLocked reports whether the synchronize of (off, n) completed,
// removing it if so.
func (k *Kernel) syncDoneLocked(o *object, off mo.Offset, n mo.Size) (done, found bool) {
	for i, s := range o.syncs {
		if s.off == off && s.len == n && s.done {
			o.syncs = append(o.syncs[:i], o.syncs[i+1:]...)
			return true, true
		}
	}
	for _, s := range o.syncs {
		if s.off == off && s.len == n {
			return false, true
		}
	}
	return false, false
}
