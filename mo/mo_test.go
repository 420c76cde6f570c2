package mo

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestReturnCodesKeepTheirMeaning(t *testing.T) {
	wrapped := fmt.Errorf("data_request at 0x1000: %w", KernInvalidArgument)
	if !errors.Is(wrapped, KernInvalidArgument) || errors.Is(wrapped, KernFailure) {
		t.Errorf("errors.Is through wrapping does not keep the code")
	}
	if ReturnOf(wrapped) != KernInvalidArgument || ReturnOf(nil) != KernSuccess || ReturnOf(errors.New("x")) != KernFailure {
		t.Errorf("ReturnOf maps wrongly")
	}
	if KernSuccess.Err() != nil || KernTerminated.Err() != KernTerminated {
		t.Errorf("Err maps wrongly")
	}
	for code, want := range map[Return]string{
		KernInvalidArgument: "KERN_INVALID_ARGUMENT: an argument is not valid",
		KernTerminated:      "KERN_TERMINATED: the object has been terminated and is no longer available",
		MigNoReply:          "MIG_NO_REPLY: no reply now: the answer comes later",
		Return(1234):        "KERN_0x000004d2: unknown return code",
	} {
		if got := code.Error(); got != want {
			t.Errorf("%d: %q, want %q", code, got, want)
		}
	}
	if int32(KernTerminated) != 37 || int32(MigNoReply) != -305 || int32(KernMemoryError) != 10 {
		t.Errorf("codes differ from Mach's numbers")
	}
	if !Accepted(nil) || !Accepted(MigNoReply) || Accepted(KernFailure) {
		t.Errorf("Accepted is wrong")
	}
}

func TestReturningACodeAllocatesNothing(t *testing.T) {
	var sink error
	if n := testing.AllocsPerRun(100, func() { sink = CheckRange(1, 0, 4096, 8192) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { sink = MigNoReply }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	_ = sink
}

func TestCheckPageSize(t *testing.T) {
	for ps, ok := range map[Size]bool{0: false, 1: false, 256: false, 512: true, 3000: false, 4096: true, 65536: true, 1 << 24: true, 1 << 25: false, 4097: false} {
		if err := CheckPageSize(ps); (err == nil) != ok || (err != nil && !errors.Is(err, KernInvalidArgument)) {
			t.Errorf("CheckPageSize(%#x) = %v", ps, err)
		}
	}
}

func TestCheckRange(t *testing.T) {
	const ps, size = 4096, 1 << 20
	for _, c := range []struct {
		off Offset
		n   Size
		ok  bool
	}{
		{0, 4096, true}, {4096, 8192, true}, {size - 4096, 4096, true},
		{0, 0, false}, {1, 4096, false}, {0, 100, false}, {size, 4096, false},
		{size - 4096, 8192, false}, {^Offset(0) &^ 4095, 8192, false}, {0, ^Size(0) &^ 4095, false},
	} {
		if err := CheckRange(c.off, c.n, ps, size); (err == nil) != c.ok {
			t.Errorf("CheckRange(%#x, %#x) = %v", c.off, c.n, err)
		}
	}
}

func TestProtText(t *testing.T) {
	for p := Prot(0); p <= ProtAll; p++ {
		q, err := ParseProt(p.String())
		if err != nil || q != p {
			t.Errorf("ParseProt(%q) = %v, %v", p.String(), q, err)
		}
	}
	for _, s := range []string{"", "r", "rwxx", "wr-", "RW-"} {
		if _, err := ParseProt(s); !errors.Is(err, KernInvalidArgument) {
			t.Errorf("ParseProt(%q) = %v", s, err)
		}
	}
}

// TestSequencerServesInSeqnoOrder starts the calls in reverse order; they
// are served in seqno order.
func TestSequencerServesInSeqnoOrder(t *testing.T) {
	var s Sequencer
	var mu sync.Mutex
	var order []Seqno
	var wg sync.WaitGroup
	const n = 50
	for i := n - 1; i >= 0; i-- {
		wg.Add(1)
		go func(q Seqno) {
			defer wg.Done()
			s.Enter(q)
			mu.Lock()
			order = append(order, q)
			mu.Unlock()
			s.Leave(q)
		}(Seqno(i))
	}
	wg.Wait()
	for i, q := range order {
		if q != Seqno(i) {
			t.Fatalf("served %v", order)
		}
	}
	if s.Next() != n {
		t.Errorf("Next = %d", s.Next())
	}
}

func TestSequencerTryEnterAndMisuse(t *testing.T) {
	var s Sequencer
	if s.TryEnter(1) || !s.TryEnter(0) || s.TryEnter(0) {
		t.Fatal("TryEnter out of turn")
	}
	s.Leave(0)
	defer func() {
		if recover() == nil {
			t.Error("Leave out of turn did not panic")
		}
	}()
	s.Leave(5)
}

// TestSequencerInterleavedWaiters: goroutines each take every fourth
// seqno, so that most calls wait while others leave; every seqno is served
// once, in order.
func TestSequencerInterleavedWaiters(t *testing.T) {
	var s Sequencer
	const workers, rounds = 4, 500
	served := make([]Seqno, 0, workers*rounds)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				q := Seqno(r*workers + w)
				s.Enter(q)
				served = append(served, q) // the turn orders the appends
				s.Leave(q)
			}
		}(w)
	}
	wg.Wait()
	for i, q := range served {
		if q != Seqno(i) {
			t.Fatalf("position %d served seqno %d", i, q)
		}
	}
	if len(served) != workers*rounds || s.Next() != workers*rounds {
		t.Errorf("%d served, Next = %d", len(served), s.Next())
	}
}

func TestSequencerAllocatesNothing(t *testing.T) {
	var s Sequencer
	q := Seqno(0)
	if n := testing.AllocsPerRun(100, func() { s.Enter(q); s.Leave(q); q++ }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestTraceKeepsTheLastEventsOneALine(t *testing.T) {
	tr := NewTrace(4)
	for i := 0; i < 6; i++ {
		tr.Record(Event{Op: OpDataRequest, Kernel: 1, Object: 2, Seqno: Seqno(i), Offset: Offset(i) << 12, Size: 4096, Prot: ProtRead})
	}
	tr.Record(Event{Op: OpLockRequest, Kernel: 1, Object: 2, Size: 8192, Prot: ProtWrite, Policy: uint8(ReturnDirty), Flags: FlagFlush | FlagReply, Result: KernTerminated})
	ev := tr.Events(nil)
	if len(ev) != 4 || ev[0].N != 3 || ev[3].N != 6 || tr.Total() != 7 {
		t.Fatalf("events %+v", ev)
	}
	var b bytes.Buffer
	tr.WriteTo(&b)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	if want := "3 k1 o2 > data_request seqno=3 offset=0x3000 size=0x1000 prot=r-- = KERN_SUCCESS"; lines[0] != want {
		t.Errorf("line %q, want %q", lines[0], want)
	}
	if want := "6 k1 o2 < lock_request offset=0x0 size=0x2000 prot=-w- return=dirty flush reply = KERN_TERMINATED"; lines[3] != want {
		t.Errorf("line %q, want %q", lines[3], want)
	}
	tr.Reset()
	if len(tr.Events(nil)) != 0 {
		t.Error("Reset left events")
	}
}

func TestTraceRecordAllocatesNothing(t *testing.T) {
	for _, tr := range []*Trace{nil, NewTrace(16)} {
		e := Event{Op: OpDataSupply, Offset: 4096, Size: 4096}
		if n := testing.AllocsPerRun(100, func() { tr.Record(e); e.Offset += 4096 }); n != 0 {
			t.Errorf("trace on %v: %v allocations", tr != nil, n)
		}
	}
	e := Event{Op: OpDataReturn, Flags: FlagDirty, Result: KernMemoryError}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = e.AppendText(buf[:0]); buf = e.AppendBinary(buf[:0]) }); n != 0 {
		t.Errorf("formatting: %v allocations", n)
	}
}

func TestEventBinaryRoundTrip(t *testing.T) {
	e := Event{N: 9, Op: OpDataSupply, Flags: FlagPrecious | FlagReply, Prot: ProtWrite, Kernel: 3, Object: 7, Seqno: 11, Offset: 1 << 40, Size: 1 << 16, Result: MigNoReply}
	b := e.AppendBinary(nil)
	var d Event
	if len(b) != EventSize || d.UnmarshalBinary(b) != nil || d != e {
		t.Fatalf("round trip: %+v", d)
	}
	b[8] = 0
	if err := d.UnmarshalBinary(b); !errors.Is(err, KernInvalidArgument) || d != e {
		t.Errorf("bad op: %v, event changed to %+v", err, d)
	}
}

func FuzzEventUnmarshal(f *testing.F) {
	e := Event{Op: OpDataReturn, Flags: FlagDirty, Offset: 4096, Size: 4096}
	f.Add(e.AppendBinary(nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Event
		if err := d.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, KernInvalidArgument) || d != (Event{}) {
				t.Fatalf("refused with %v, event %+v", err, d)
			}
			return
		}
		if !bytes.Equal(d.AppendBinary(nil), b) {
			t.Fatalf("re-encoding differs")
		}
		if line := d.AppendText(nil); bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("text has a newline: %q", line)
		}
	})
}

func FuzzParseProt(f *testing.F) {
	f.Add("rw-")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProt(s)
		if err != nil {
			return
		}
		if !p.Valid() || p.String() != s {
			t.Fatalf("ParseProt(%q) = %v", s, p)
		}
	})
}

func FuzzCheckRange(f *testing.F) {
	f.Add(uint64(4096), uint64(4096), uint8(12), uint64(1<<20))
	f.Fuzz(func(t *testing.T, off, n uint64, shift uint8, size uint64) {
		ps := Size(1) << (shift % 64)
		if CheckPageSize(ps) != nil {
			return
		}
		err := CheckRange(Offset(off), Size(n), ps, Size(size))
		ok := n > 0 && off%uint64(ps) == 0 && n%uint64(ps) == 0 && off+n >= off && off+n <= size
		if (err == nil) != ok {
			t.Fatalf("CheckRange(%#x, %#x, %#x, %#x) = %v", off, n, ps, size, err)
		}
	})
}
