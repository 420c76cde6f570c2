package mo

import (
	"sync"
	"sync/atomic"
)

// Sequencer lets a pager that serves calls from several goroutines handle
// the calls of one (object, control) pair in seqno order, as GNU Mach's
// pagers did with the seqnos_ interfaces (libpager's _pager_wait_for_seqno
// and _pager_release_seqno).
//
// Every seqno from the first (0, Init) on must be entered and left exactly
// once, refused calls included, or the calls after it wait forever. The zero
// Sequencer expects seqno 0 next. A pager keeps one Sequencer per control.
//
// Enter and Leave allocate nothing. A turn that is due is taken and left
// with one atomic compare-and-swap each; only a call that must wait takes
// the mutex, and Leave takes it only when someone waits.
type Sequencer struct {
	// state is next<<1 | busy: the seqno whose turn comes next, and
	// whether it has entered and not left.
	state atomic.Uint64
	// waiters counts goroutines in Enter's slow path; Leave wakes them
	// only when it is not zero. It is raised under mu before the waiter
	// looks at state, and Leave reads it after it changed state, so one
	// of the two sees the other (sync/atomic is sequentially consistent).
	waiters atomic.Int32
	mu      sync.Mutex
	cond    sync.Cond // cond.L is &mu, set on first use; protected by mu
}

// Enter waits until every call numbered before seqno has left, then returns
// with seqno's turn taken.
func (s *Sequencer) Enter(seqno Seqno) {
	if s.TryEnter(seqno) {
		return
	}
	s.mu.Lock()
	if s.cond.L == nil {
		s.cond.L = &s.mu
	}
	s.waiters.Add(1)
	for !s.TryEnter(seqno) {
		s.cond.Wait()
	}
	s.waiters.Add(-1)
	s.mu.Unlock()
}

// TryEnter takes seqno's turn if it is due now and reports whether it did;
// it never waits. A synchronous pager uses it on its fast path.
func (s *Sequencer) TryEnter(seqno Seqno) bool {
	return s.state.CompareAndSwap(uint64(seqno)<<1, uint64(seqno)<<1|1)
}

// Leave ends seqno's turn and lets seqno+1 in. Leaving a seqno that does not
// hold the turn panics: it is a bug in the pager.
func (s *Sequencer) Leave(seqno Seqno) {
	if !s.state.CompareAndSwap(uint64(seqno)<<1|1, uint64(seqno+1)<<1) {
		panic("mo: Sequencer.Leave out of turn")
	}
	if s.waiters.Load() != 0 {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	}
}

// Next returns the seqno whose turn comes next.
func (s *Sequencer) Next() Seqno {
	return Seqno(s.state.Load() >> 1)
}
