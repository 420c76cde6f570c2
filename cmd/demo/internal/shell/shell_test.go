package shell

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/cmd/demo/internal/probe"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/defaultpager"
)

// fakeSystem is a System with one object of 16 pages mapped at
// 0xc0000000, pages 0-3 in slots 8-11 and page 6 in slot 40.
type fakeSystem struct {
	faults, pageIns uint64
	loads           []uint32
	trace           *mo.Trace
}

func (f *fakeSystem) Sample() probe.Sample {
	var s probe.Sample
	s.VM.Faults, s.VM.PageIns, s.VM.Frames, s.VM.FreeFrames = f.faults, f.pageIns, 100, 40
	return s
}

func (f *fakeSystem) Objects() []defaultpager.ObjectInfo {
	return []defaultpager.ObjectInfo{{ID: 1, Size: 16 << 12, Pages: 5, Kernels: 1, Temporary: true}}
}

func (f *fakeSystem) ObjectPages(id defaultpager.ObjectID) ([]defaultpager.PageInfo, error) {
	if id != 1 {
		return nil, mo.KernInvalidArgument
	}
	var ps []defaultpager.PageInfo
	for i := 0; i < 4; i++ {
		ps = append(ps, defaultpager.PageInfo{Offset: mo.Offset(i) << 12, Store: 1, Slot: uint64(8 + i)})
	}
	return append(ps, defaultpager.PageInfo{Offset: 6 << 12, Store: 1, Slot: 40}), nil
}

func (f *fakeSystem) Stores() ([]Store, defaultpager.Info, defaultpager.Stats) {
	return []Store{{ID: 1, Info: mo.BackingStoreInfo{ClusterSize: 16 << 10, PageSize: 4096, Pages: 64, FreePages: 59}, What: "RAM"}},
		defaultpager.Info{TotalSpace: 64 << 12, FreeSpace: 59 << 12, PageSize: 4096}, defaultpager.Stats{PageIns: 3, PageOuts: 5}
}

func (f *fakeSystem) Window() board.Region { return board.Region{Start: 0xc0000000, Size: 1 << 20} }

func (f *fakeSystem) Mappings() []Mapping {
	return []Mapping{{Addr: 0xc0000000, Size: 16 << 12, Object: 1}}
}

func (f *fakeSystem) Load(addr uint32) byte {
	f.loads = append(f.loads, addr)
	f.faults++
	f.pageIns++
	return 0x5a
}

func (f *fakeSystem) Trace() *mo.Trace { return f.trace }

func run(t *testing.T, input string) (string, *fakeSystem) {
	t.Helper()
	sys := &fakeSystem{trace: mo.NewTrace(4)}
	var out bytes.Buffer
	New(sys, &out).Run(strings.NewReader(input))
	return out.String(), sys
}

// answer returns what the console printed for the n-th command line
// (counting from 0): the text between its echo and the next prompt.
func answer(t *testing.T, out string, n int) string {
	t.Helper()
	parts := strings.Split(out, Prompt)
	if n+1 >= len(parts) {
		t.Fatalf("no answer %d in:\n%s", n, out)
	}
	_, a, _ := strings.Cut(parts[n+1], "\n")
	return a
}

func TestCommandsAnswer(t *testing.T) {
	out, sys := run(t, "help\nvmstat\nobjects\npages 1\nstores\ntouch 0xc0003010\nexit\n")
	checks := []struct {
		n    int
		want []string
	}{
		{0, []string{"vmstat", "objects", "pages OBJECT", "stores", "trace on|off", "touch ADDRESS", "help", "exit"}},
		{1, []string{probe.Header, "     40     60 "}},
		{2, []string{"     1     64 KiB  0xc0000000   anonymous             5       1          2"}},
		{3, []string{"object 1: 5 pages stored in 2 runs", "0x000000000-0x000003fff       4      1  8-11", "0x000006000-0x000006fff       1      1  40-40"}},
		{4, []string{"    1         0   16 KiB        64        59  RAM", "256 KiB total, 236 KiB free"}},
		{5, []string{"touch 0xc0003010: read 0x5a (object 1 offset 0x3010): 1 fault(s), 1 page-in(s)"}},
		{6, []string{"bye"}},
	}
	for _, c := range checks {
		a := answer(t, out, c.n)
		for _, w := range c.want {
			if !strings.Contains(a, w) {
				t.Errorf("answer %d lacks %q:\n%s", c.n, w, a)
			}
		}
	}
	if len(sys.loads) != 1 || sys.loads[0] != 0xc0003010 {
		t.Errorf("loads %#x, want one of 0xc0003010", sys.loads)
	}
	if strings.Count(out, Prompt) != 7 {
		t.Errorf("%d prompts after exit, want 7:\n%s", strings.Count(out, Prompt), out)
	}
}

// TestBadInputGivesAMessage: every kind of bad line gets a message and a
// new prompt, and nothing is loaded.
func TestBadInputGivesAMessage(t *testing.T) {
	bad := []struct{ line, want string }{
		{"frobnicate", `error: unknown command "frobnicate"`},
		{"pages", "error: usage: pages OBJECT"},
		{"pages x", `error: bad object "x"`},
		{"pages 0", `error: bad object "0"`},
		{"pages 7", "error: no object 7"},
		{"pages 99999999999", `error: bad object "99999999999"`},
		{"trace maybe", `error: usage: trace on|off (not "maybe")`},
		{"trace", "error: usage: trace on|off"},
		{"touch", "error: usage: touch ADDRESS"},
		{"touch 0xc000000g", `error: bad address "0xc000000g"`},
		{"touch 0x100000000", "does not fit in 32 bits"},
		{"touch -1", `error: bad address "-1"`},
		{"vmstat now", "error: usage: vmstat"},
		{"help me", "error: usage: help"},
		{strings.Repeat("x", MaxLine+1), "error: line longer than 200 characters"},
	}
	var in strings.Builder
	for _, b := range bad {
		in.WriteString(b.line + "\n")
	}
	out, sys := run(t, in.String())
	for i, b := range bad {
		if a := answer(t, out, i); !strings.Contains(a, b.want) {
			t.Errorf("%q: answer %q, want %q", b.line, a, b.want)
		}
	}
	if len(sys.loads) != 0 {
		t.Errorf("bad lines loaded %#x", sys.loads)
	}
	if n := strings.Count(out, Prompt); n != len(bad)+1 {
		t.Errorf("%d prompts, want %d: the console stopped early", n, len(bad)+1)
	}
}

// TestTouchOutsideEveryMappingIsReported: no load is made; the report
// names the address, the window and the map.
func TestTouchOutsideEveryMappingIsReported(t *testing.T) {
	out, sys := run(t, "touch 0xc0010000\ntouch 8\n")
	in := answer(t, out, 0)
	for _, w := range []string{"fault report (vm): read at 0xc0010000: no mapping", "in the window 0xc0000000-0xc00fffff", "0xc0000000-0xc000ffff    64 KiB  object 1", "not touched"} {
		if !strings.Contains(in, w) {
			t.Errorf("report lacks %q:\n%s", w, in)
		}
	}
	if out := answer(t, out, 1); !strings.Contains(out, "read at 0x00000008: no mapping") || !strings.Contains(out, "outside the kernel's window") {
		t.Errorf("report for 8:\n%s", out)
	}
	if len(sys.loads) != 0 {
		t.Errorf("loads %#x outside every mapping", sys.loads)
	}
}

// TestTracePrintsEachCallOnce: calls recorded while the trace is on are
// printed once, one a line, before the next prompt; calls lost from the
// ring are counted; nothing is printed once it is off.
func TestTracePrintsEachCallOnce(t *testing.T) {
	sys := &fakeSystem{trace: mo.NewTrace(4)}
	var out bytes.Buffer
	sh := New(sys, &out)
	rec := func(op mo.Op, off mo.Offset) {
		sys.trace.Record(mo.Event{Op: op, Object: 1, Offset: off, Size: 4096})
	}
	rec(mo.OpDataRequest, 0) // before trace on: not printed
	sh.Exec("trace on")
	rec(mo.OpDataRequest, 0x1000)
	rec(mo.OpDataSupply, 0x1000)
	sh.flushTrace()
	sh.flushTrace()
	for i := 0; i < 6; i++ {
		rec(mo.OpDataReturn, mo.Offset(i)<<12)
	}
	sh.flushTrace()
	sh.Exec("trace off")
	rec(mo.OpDataRequest, 0x9000)
	sh.flushTrace()
	got := out.String()
	for _, w := range []string{
		"1 k0 o1 > data_request seqno=0 offset=0x1000 size=0x1000",
		"2 k0 o1 < data_supply offset=0x1000",
		"trace: 2 calls not shown",
		"7 k0 o1 > data_return seqno=0 offset=0x4000",
		"8 k0 o1 > data_return seqno=0 offset=0x5000",
	} {
		if strings.Count(got, w) != 1 {
			t.Errorf("output has %q %d times, want once:\n%s", w, strings.Count(got, w), got)
		}
	}
	if strings.Contains(got, "offset=0x9000") || strings.Contains(got, "0 k0 o1 > data_request") {
		t.Errorf("a call outside the trace was printed:\n%s", got)
	}
}

func TestLineEditing(t *testing.T) {
	var echo bytes.Buffer
	r := &LineReader{In: strings.NewReader("vmz\x7fstat\r\nob\bbjects\rx\x01y\n\n"), Echo: &echo}
	var lines []string
	for {
		l, err := r.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	want := []string{"vmstat", "objects", "xy", ""}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", lines, want)
	}
	if !strings.HasPrefix(echo.String(), "vmz\b \bstat\n") {
		t.Errorf("echo %q", echo.String())
	}
}

func TestParseAddress(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"0xc0000000", 0xc0000000, true}, {"0XC0000000", 0xc0000000, true}, {"4096", 4096, true},
		{"0xffffffff", 0xffffffff, true}, {"0x100000000", 0, false}, {"", 0, false}, {"0x", 0, false}, {"c0000000", 0, false},
	} {
		got, err := ParseAddress(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseAddress(%q) = %#x, %v", c.in, got, err)
		}
	}
}
