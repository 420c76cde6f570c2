package inject

import (
	"sync"

	"github.com/tamach/tamach/pager/store"
)

// Store wraps a backing store: each read draws Error from the schedule
// (OpStoreRead), each write Error, ShortWrite or Full (OpStoreWrite). The
// failures themselves are store.Faulty's, armed for one call at a time:
// a failed read returns store.ErrIO; a failed write returns store.ErrIO
// and writes nothing; a short write writes the first half of the page and
// returns store.ErrShortWrite; a full store returns store.ErrFull and
// writes nothing.
type Store struct {
	s *Schedule

	mu sync.Mutex // serialises arming f and the call it is armed for
	f  *store.Faulty
}

var _ store.Store = (*Store)(nil)

// WrapStore wraps inner with schedule s.
func WrapStore(inner store.Store, s *Schedule) *Store {
	return &Store{s: s, f: store.NewFaulty(inner)}
}

// Faulty returns the store.Faulty the wrapper drives (for its counters).
func (w *Store) Faulty() *store.Faulty { return w.f }

// PageSize implements store.Store.
func (w *Store) PageSize() int { return w.f.PageSize() }

// Pages implements store.Store.
func (w *Store) Pages() uint64 { return w.f.Pages() }

// ReadPage implements store.Store.
func (w *Store) ReadPage(slot uint64, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.s.next(OpStoreRead, storeReadKinds) == Error {
		w.f.FailReads(1)
	}
	return w.f.ReadPage(slot, p)
}

// WritePage implements store.Store.
func (w *Store) WritePage(slot uint64, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch w.s.next(OpStoreWrite, storeWriteKinds) {
	case Error:
		w.f.FailWrites(1)
	case ShortWrite:
		w.f.ShortWrites(1)
	case Full:
		w.f.SetFull(true)
		defer w.f.SetFull(false)
	}
	return w.f.WritePage(slot, p)
}

// Sync implements store.Store.
func (w *Store) Sync() error { return w.f.Sync() }
