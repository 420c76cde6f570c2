package store

import "sync"

// Faulty wraps a store and fails its calls as told, so that tests can give
// every failure a defined outcome. The zero schedule passes every call
// through. Methods may be called from any goroutine.
type Faulty struct {
	inner Store

	mu         sync.Mutex
	failReads  int    // protected by mu: the next n reads fail with ErrIO
	failWrites int    // protected by mu: the next n writes fail with ErrIO
	shortWrite int    // protected by mu: the next n writes stop half way
	full       bool   // protected by mu: every write fails with ErrFull
	badSlot    uint64 // protected by mu: reads of badSlot-1 fail (0: none)
	rate       uint32 // protected by mu: out of 65536, calls that fail at random
	rng        uint64 // protected by mu: xorshift state
	tmp        []byte // protected by mu: scratch page of a short write
	Stats      FaultyStats
}

// FaultyStats counts a Faulty's calls (protected by its mutex; read them
// with Counts).
type FaultyStats struct {
	Reads, Writes, FailedReads, FailedWrites uint64
}

var _ Store = (*Faulty)(nil)

// NewFaulty wraps inner.
func NewFaulty(inner Store) *Faulty {
	return &Faulty{inner: inner, tmp: make([]byte, inner.PageSize())}
}

// FailReads makes the next n reads fail with ErrIO.
func (f *Faulty) FailReads(n int) { f.mu.Lock(); f.failReads = n; f.mu.Unlock() }

// FailWrites makes the next n writes fail with ErrIO, writing nothing.
func (f *Faulty) FailWrites(n int) { f.mu.Lock(); f.failWrites = n; f.mu.Unlock() }

// ShortWrites makes the next n writes write the first half of the page
// and fail with ErrShortWrite.
func (f *Faulty) ShortWrites(n int) { f.mu.Lock(); f.shortWrite = n; f.mu.Unlock() }

// SetFull makes every write fail with ErrFull until cleared.
func (f *Faulty) SetFull(full bool) { f.mu.Lock(); f.full = full; f.mu.Unlock() }

// FailSlot makes every read of slot fail with ErrIO (a bad block).
func (f *Faulty) FailSlot(slot uint64) { f.mu.Lock(); f.badSlot = slot + 1; f.mu.Unlock() }

// Random makes each read and write fail with ErrIO with probability
// perMille/1000, from a schedule that seed fixes (seed 0 is taken as 1).
func (f *Faulty) Random(seed uint64, perMille int) {
	f.mu.Lock()
	f.rng = max(seed, 1)
	f.rate = uint32(perMille * 65536 / 1000)
	f.mu.Unlock()
}

// Counts returns the counters.
func (f *Faulty) Counts() FaultyStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Stats
}

func (f *Faulty) randomLocked() bool {
	if f.rate == 0 {
		return false
	}
	f.rng ^= f.rng << 13
	f.rng ^= f.rng >> 7
	f.rng ^= f.rng << 17
	return uint32(f.rng>>20)&0xffff < f.rate
}

// PageSize implements Store.
func (f *Faulty) PageSize() int { return f.inner.PageSize() }

// Pages implements Store.
func (f *Faulty) Pages() uint64 { return f.inner.Pages() }

// ReadPage implements Store. It uses no defer (see FaultSafe).
func (f *Faulty) ReadPage(slot uint64, p []byte) error {
	f.mu.Lock()
	f.Stats.Reads++
	if f.failReads > 0 || slot+1 == f.badSlot || f.randomLocked() {
		if f.failReads > 0 {
			f.failReads--
		}
		f.Stats.FailedReads++
		f.mu.Unlock()
		clear(p)
		return ErrIO
	}
	err := f.inner.ReadPage(slot, p)
	f.mu.Unlock()
	return err
}

// FaultSafe implements FaultSafe: a Faulty store is fault-safe when its
// inner store is (its scratch page is allocated by NewFaulty).
func (f *Faulty) FaultSafe() bool { return IsFaultSafe(f.inner) }

// WritePage implements Store.
func (f *Faulty) WritePage(slot uint64, p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Stats.Writes++
	switch {
	case f.full:
		f.Stats.FailedWrites++
		return ErrFull
	case f.failWrites > 0 || f.randomLocked():
		if f.failWrites > 0 {
			f.failWrites--
		}
		f.Stats.FailedWrites++
		return ErrIO
	case f.shortWrite > 0:
		f.shortWrite--
		f.Stats.FailedWrites++
		if slot < f.inner.Pages() && len(p) == f.inner.PageSize() {
			// Half the page lands: read the slot, overwrite its first half.
			ps, tmp := len(p), f.tmp
			if f.inner.ReadPage(slot, tmp) == nil {
				copy(tmp[:ps/2], p[:ps/2])
				f.inner.WritePage(slot, tmp)
			}
		}
		return ErrShortWrite
	}
	return f.inner.WritePage(slot, p)
}

// Sync implements Store.
func (f *Faulty) Sync() error { return f.inner.Sync() }
