package mo

import (
	"encoding/binary"
	"io"
	"strconv"
	"sync"
)

// Op names a protocol call in a trace.
type Op uint8

// Calls, kernel to pager first.
const (
	OpInvalid Op = iota
	OpInit
	OpDataRequest
	OpDataUnlock
	OpDataReturn
	OpSynchronize
	OpTerminate
	OpLockCompleted
	OpSupplyCompleted
	OpChangeCompleted
	OpDataInitialize
	OpCreate
	// Pager to kernel.
	OpDataSupply
	OpDataUnavailable
	OpDataError
	OpLockRequest
	OpChangeAttributes
	OpGetAttributes
	OpDestroy
	OpReady
	OpSynchronizeCompleted
	numOps
)

var opNames = [numOps]string{
	OpInvalid:              "invalid",
	OpInit:                 "init",
	OpDataRequest:          "data_request",
	OpDataUnlock:           "data_unlock",
	OpDataReturn:           "data_return",
	OpSynchronize:          "synchronize",
	OpTerminate:            "terminate",
	OpLockCompleted:        "lock_completed",
	OpSupplyCompleted:      "supply_completed",
	OpChangeCompleted:      "change_completed",
	OpDataInitialize:       "data_initialize",
	OpCreate:               "create",
	OpDataSupply:           "data_supply",
	OpDataUnavailable:      "data_unavailable",
	OpDataError:            "data_error",
	OpLockRequest:          "lock_request",
	OpChangeAttributes:     "change_attributes",
	OpGetAttributes:        "get_attributes",
	OpDestroy:              "destroy",
	OpReady:                "ready",
	OpSynchronizeCompleted: "synchronize_completed",
}

// Valid reports whether o is a defined call.
func (o Op) Valid() bool { return o > OpInvalid && o < numOps }

// ToPager reports whether o is a kernel-to-pager call.
func (o Op) ToPager() bool { return o > OpInvalid && o < OpDataSupply }

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// EventFlags are the boolean arguments of a call.
type EventFlags uint8

// Event flags.
const (
	FlagDirty      EventFlags = 1 << iota // data_return: dirty
	FlagKernelCopy                        // data_return: kernel_copy
	FlagPrecious                          // data_supply: precious
	FlagFlush                             // lock_request: should_flush
	FlagReply                             // data_supply, lock_request, change_attributes: reply
	FlagMayCache                          // ready, change_attributes: may_cache
	numFlags       = 6
)

var flagNames = [numFlags]string{"dirty", "kernel_copy", "precious", "flush", "reply", "may_cache"}

// Event is one call in a trace. Prot holds the desired access or the lock
// value; Policy the return policy of lock_request, or the copy strategy of
// ready and change_attributes; Size the length, page size or cluster size.
type Event struct {
	N      uint64 // position in the trace, set by Record
	Op     Op
	Flags  EventFlags
	Prot   Prot
	Policy uint8
	Kernel uint16 // which kernel, as the recorder numbers them
	Object uint32 // which object, as the recorder numbers them
	Seqno  Seqno
	Offset Offset
	Size   Size
	Result Return // what the call returned
}

// EventSize is the length of an event's binary form.
const EventSize = 8 + 4 + 2 + 4 + 8 + 8 + 8 + 4

// AppendBinary appends e's fixed-size little-endian form to b.
func (e *Event) AppendBinary(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, e.N)
	b = append(b, byte(e.Op), byte(e.Flags), byte(e.Prot), e.Policy)
	b = binary.LittleEndian.AppendUint16(b, e.Kernel)
	b = binary.LittleEndian.AppendUint32(b, e.Object)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Seqno))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Offset))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Size))
	return binary.LittleEndian.AppendUint32(b, uint32(e.Result))
}

// UnmarshalBinary decodes the form AppendBinary produces. Input of the wrong
// length or with an unknown call, flag or protection gives
// KernInvalidArgument and leaves e unchanged.
func (e *Event) UnmarshalBinary(b []byte) error {
	if len(b) != EventSize {
		return KernInvalidArgument
	}
	var d Event
	d.N = binary.LittleEndian.Uint64(b[0:])
	d.Op, d.Flags, d.Prot, d.Policy = Op(b[8]), EventFlags(b[9]), Prot(b[10]), b[11]
	d.Kernel = binary.LittleEndian.Uint16(b[12:])
	d.Object = binary.LittleEndian.Uint32(b[14:])
	d.Seqno = Seqno(binary.LittleEndian.Uint64(b[18:]))
	d.Offset = Offset(binary.LittleEndian.Uint64(b[26:]))
	d.Size = Size(binary.LittleEndian.Uint64(b[34:]))
	d.Result = Return(binary.LittleEndian.Uint32(b[42:]))
	if !d.Op.Valid() || d.Flags>>numFlags != 0 || !d.Prot.Valid() {
		return KernInvalidArgument
	}
	*e = d
	return nil
}

// AppendText appends e as one line without the newline, for example
//
//	7 k1 o2 > data_request seqno=3 offset=0x2000 size=0x1000 prot=r-- = KERN_SUCCESS
//
// ">" marks a kernel-to-pager call, "<" a pager-to-kernel one.
func (e *Event) AppendText(b []byte) []byte {
	b = strconv.AppendUint(b, e.N, 10)
	b = append(b, " k"...)
	b = strconv.AppendUint(b, uint64(e.Kernel), 10)
	b = append(b, " o"...)
	b = strconv.AppendUint(b, uint64(e.Object), 10)
	if e.Op.ToPager() {
		b = append(b, " > "...)
	} else {
		b = append(b, " < "...)
	}
	b = append(b, e.Op.String()...)
	if e.Op.ToPager() {
		b = append(b, " seqno="...)
		b = strconv.AppendUint(b, uint64(e.Seqno), 10)
	}
	b = append(b, " offset=0x"...)
	b = strconv.AppendUint(b, uint64(e.Offset), 16)
	b = append(b, " size=0x"...)
	b = strconv.AppendUint(b, uint64(e.Size), 16)
	b = append(b, " prot="...)
	b = e.Prot.appendText(b)
	if e.Op == OpLockRequest {
		b = append(b, " return="...)
		b = append(b, ReturnPolicy(e.Policy).String()...)
	}
	if e.Op == OpReady || e.Op == OpChangeAttributes || e.Op == OpChangeCompleted {
		b = append(b, " copy="...)
		b = append(b, CopyStrategy(e.Policy).String()...)
	}
	for i := 0; i < numFlags; i++ {
		if e.Flags&(1<<i) != 0 {
			b = append(b, ' ')
			b = append(b, flagNames[i]...)
		}
	}
	b = append(b, " = "...)
	return append(b, e.Result.Name()...)
}

// Trace is a fixed ring of the most recent calls. The recorder (usually
// the kernel, which sees both directions) records a call when it returns,
// with its result, so an answer given inside a call comes before the call
// in the trace; Seqno restores the order of kernel-to-pager calls. Record allocates nothing,
// and a nil *Trace records nothing, so tracing can be left in place and
// switched off by leaving the pointer nil. A Trace is safe for concurrent
// use.
type Trace struct {
	mu   sync.Mutex
	ring []Event // protected by mu; len fixed by NewTrace
	n    uint64  // protected by mu: events ever recorded
}

// NewTrace returns a trace that keeps the last capacity events (at least 1).
func NewTrace(capacity int) *Trace {
	if capacity < 1 {
		capacity = 1
	}
	return &Trace{ring: make([]Event, capacity)}
}

// Record stores e, numbering it; the oldest event goes when the ring is full.
func (t *Trace) Record(e Event) {
	if t == nil {
		return
	}
	t.mu.Lock()
	e.N = t.n
	t.ring[t.n%uint64(len(t.ring))] = e
	t.n++
	t.mu.Unlock()
}

// Total returns how many events were ever recorded.
func (t *Trace) Total() uint64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// Events appends the events still in the ring to dst, oldest first.
func (t *Trace) Events(dst []Event) []Event {
	if t == nil {
		return dst
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	first := uint64(0)
	if c := uint64(len(t.ring)); t.n > c {
		first = t.n - c
	}
	for i := first; i < t.n; i++ {
		dst = append(dst, t.ring[i%uint64(len(t.ring))])
	}
	return dst
}

// Reset empties the trace.
func (t *Trace) Reset() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.n = 0
	t.mu.Unlock()
}

// WriteTo prints the events in the ring, oldest first, one call a line.
func (t *Trace) WriteTo(w io.Writer) (int64, error) {
	var total int64
	line := make([]byte, 0, 160)
	for _, e := range t.Events(nil) {
		line = append(e.AppendText(line[:0]), '\n')
		n, err := w.Write(line)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
