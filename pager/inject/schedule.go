// Package inject wraps pagers (mo.Object, mo.DefaultPager) and backing
// stores (store.Store) so that they misbehave on a seedable schedule:
// calls refused with an error or panicking, answers made later from a
// goroutine, dropped, made twice or out of order, store reads and writes
// failing, writing half a page, or finding the store full. Tests use it to
// give every failure a defined outcome (docs/failures.md) and to stress the
// kernel with pagers that misbehave in ways that must not lose data.
//
// # Where each kind applies
//
//   - Kernel-to-pager calls (Init, DataRequest, DataUnlock, DataReturn,
//     DataInitialize, Synchronize, Terminate, the completions, Create):
//     Error (refused with Schedule.Err, not passed on) and Panic (the
//     wrapper panics with an *Injected before passing the call on).
//   - Answers the wrapped pager makes on its Control (DataSupply,
//     DataUnavailable, DataError, Ready, LockRequest,
//     SynchronizeCompleted, ChangeAttributes, Destroy): Delay (made later
//     from a goroutine of the wrapper), Drop (never made; the pager is
//     told it was taken), Duplicate (made twice at once) and Reorder (held
//     and made after the next answer on the same control, or later from a
//     goroutine if none comes).
//   - Store reads: Error (store.ErrIO). Store writes: Error (store.ErrIO,
//     nothing written), ShortWrite (half the page written,
//     store.ErrShortWrite), Full (store.ErrFull).
//
// A wrapped object is never mo.FaultSafe: its answers may take a lock and
// start goroutines, so a kernel calls it from a goroutine.
//
// # Schedules
//
// A Schedule draws a kind for each call from a xorshift generator seeded
// by its seed, with a rate per kind, restricted to the operations it is
// told; kinds queued with Then are taken first, in order, by the first
// calls of their operation. The same seed and the same sequence of calls
// give the same kinds. Calls from several goroutines draw in the order they
// take the schedule's lock.
package inject

import (
	"fmt"
	"sync"

	"github.com/tamach/tamach/mo"
)

// Kind is an injected misbehaviour.
type Kind uint8

const (
	Pass       Kind = iota // the call or answer goes through unchanged
	Error                  // the call is refused with an error
	Panic                  // the pager panics in the call
	Delay                  // the answer is made later, from a goroutine
	Drop                   // the answer is never made
	Duplicate              // the answer is made twice
	Reorder                // the answer is made after the next one
	ShortWrite             // a store write writes half the page and fails
	Full                   // a store write finds the store full
	NumKinds
)

var kindNames = [NumKinds]string{"pass", "error", "panic", "delay", "drop", "duplicate", "reorder", "short write", "full"}

func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kinds that apply to each site.
var (
	callKinds       = []Kind{Error, Panic}
	answerKinds     = []Kind{Delay, Drop, Duplicate, Reorder}
	storeReadKinds  = []Kind{Error}
	storeWriteKinds = []Kind{Error, ShortWrite, Full}
)

// Injected is what a wrapper panics with (Panic).
type Injected struct {
	Op   mo.Op
	Seed uint64
}

func (p *Injected) Error() string {
	return fmt.Sprintf("inject: panic in %v (schedule seed %d)", p.Op, p.Seed)
}

// Site names a store call in a schedule (store calls are not mo.Ops).
const (
	OpStoreRead  mo.Op = 200
	OpStoreWrite mo.Op = 201
)

// Schedule decides, call by call, which kind of misbehaviour happens.
// Methods may be called from any goroutine. Build it before use: the
// setters are not meant to race with the wrappers.
type Schedule struct {
	// Err is what a call refused with Error returns (nil: mo.KernFailure).
	Err error

	mu     sync.Mutex
	seed   uint64
	rng    uint64                     // protected by mu
	rates  [NumKinds]uint32           // per million
	ops    map[mo.Op]bool             // nil: every op
	queued map[mo.Op][]Kind           // protected by mu
	counts [NumKinds]uint64           // protected by mu
	byOp   map[mo.Op][NumKinds]uint64 // protected by mu
}

// NewSchedule returns a schedule that passes everything until told
// otherwise, drawing from seed (0 is taken as 1).
func NewSchedule(seed uint64) *Schedule {
	s := max(seed, 1)
	return &Schedule{seed: seed, rng: s, queued: make(map[mo.Op][]Kind), byOp: make(map[mo.Op][NumKinds]uint64)}
}

// Seed returns the schedule's seed.
func (s *Schedule) Seed() uint64 { return s.seed }

// Rate makes kind happen with probability perMillion/1e6 wherever it
// applies; it returns s.
func (s *Schedule) Rate(k Kind, perMillion int) *Schedule {
	s.mu.Lock()
	s.rates[k] = uint32(perMillion)
	s.mu.Unlock()
	return s
}

// Only restricts the random draws to the calls and answers of ops; it
// returns s.
func (s *Schedule) Only(ops ...mo.Op) *Schedule {
	s.mu.Lock()
	s.ops = make(map[mo.Op]bool)
	for _, op := range ops {
		s.ops[op] = true
	}
	s.mu.Unlock()
	return s
}

// Then queues kinds for the next calls (or answers) of op, in order,
// before any random draw; it returns s.
func (s *Schedule) Then(op mo.Op, kinds ...Kind) *Schedule {
	s.mu.Lock()
	s.queued[op] = append(s.queued[op], kinds...)
	s.mu.Unlock()
	return s
}

// Count returns how many times kind happened.
func (s *Schedule) Count(k Kind) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[k]
}

// CountOp returns how many times kind happened to op.
func (s *Schedule) CountOp(op mo.Op, k Kind) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byOp[op][k]
}

func (s *Schedule) err() error {
	if s.Err != nil {
		return s.Err
	}
	return mo.KernFailure
}

// next draws the kind for one call of op among the kinds that apply.
func (s *Schedule) next(op mo.Op, apply []Kind) Kind {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := Pass
	if q := s.queued[op]; len(q) > 0 {
		k = q[0]
		s.queued[op] = q[1:]
	} else if s.ops == nil || s.ops[op] {
		s.rng ^= s.rng << 13
		s.rng ^= s.rng >> 7
		s.rng ^= s.rng << 17
		r := uint32(s.rng>>24) % 1000000
		for _, c := range apply {
			if r < s.rates[c] {
				k = c
				break
			}
			r -= s.rates[c]
		}
	}
	s.counts[k]++
	c := s.byOp[op]
	c[k]++
	s.byOp[op] = c
	return k
}
