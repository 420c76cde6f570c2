package mo

import "sync"

// Sequencer lets a pager that serves calls from several goroutines handle
// the calls of one (object, control) pair in seqno order, as GNU Mach's
// pagers did with the seqnos_ interfaces (libpager's _pager_wait_for_seqno
// and _pager_release_seqno).
//
// Every seqno from the first (0, Init) on must be entered and left exactly
// once, refused calls included, or the calls after it wait forever. The zero
// Sequencer expects seqno 0 next. A pager keeps one Sequencer per control.
//
// Enter and Leave allocate nothing.
type Sequencer struct {
	mu   sync.Mutex
	cond sync.Cond // cond.L is &mu, set on first use
	next Seqno     // protected by mu
	busy bool      // protected by mu: next has entered and not left
}

// Enter waits until every call numbered before seqno has left, then returns
// with seqno's turn taken.
func (s *Sequencer) Enter(seqno Seqno) {
	s.mu.Lock()
	if s.cond.L == nil {
		s.cond.L = &s.mu
	}
	for s.next != seqno || s.busy {
		s.cond.Wait()
	}
	s.busy = true
	s.mu.Unlock()
}

// TryEnter takes seqno's turn if it is due now and reports whether it did;
// it never waits. A synchronous pager uses it on its fast path.
func (s *Sequencer) TryEnter(seqno Seqno) bool {
	s.mu.Lock()
	ok := s.next == seqno && !s.busy
	if ok {
		s.busy = true
	}
	s.mu.Unlock()
	return ok
}

// Leave ends seqno's turn and lets seqno+1 in. Leaving a seqno that does not
// hold the turn panics: it is a bug in the pager.
func (s *Sequencer) Leave(seqno Seqno) {
	s.mu.Lock()
	if s.next != seqno || !s.busy {
		s.mu.Unlock()
		panic("mo: Sequencer.Leave out of turn")
	}
	s.next++
	s.busy = false
	if s.cond.L != nil {
		s.cond.Broadcast()
	}
	s.mu.Unlock()
}

// Next returns the seqno whose turn comes next.
func (s *Sequencer) Next() Seqno {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}
