// Package shell is the demo's console: it reads command lines from the
// serial port, runs them against the running system (System) and prints
// the answers. Everything here is plain Go; the board glue only supplies
// the bytes.
//
// Commands:
//
//	vmstat         counters since the last vmstat (or boot), as the demo's vmstat line
//	objects        the default pager's objects: size, mapping, pages stored, where
//	pages OBJECT   where each stored page of an object is (object_pages), as runs
//	stores         the default pager's backing stores and its space
//	trace on|off   print every protocol call, one a line, before each prompt
//	touch ADDRESS  load one byte of the window
//	help           this list
//	exit           leave the console (the program exits 0)
//
// touch checks the address against the kernel's map first. Inside a
// mapping it loads the byte, which faults the page in if it is not
// resident, and says what the load cost (faults, page-ins). Outside every
// mapping it does not make the access: an unresolved abort ends the
// program (the abort hook prints its report and stops), so the console
// prints vm's own report instead, the address, the access and why vm would
// not resolve it, with the map, and keeps running.
//
// An unknown command, a missing or malformed argument, or a line that is
// too long gives a message and a new prompt, never a crash.
package shell

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/cmd/demo/internal/probe"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/defaultpager"
)

// Mapping is a region of the kernel's map.
type Mapping struct {
	Addr, Size uint32
	Object     defaultpager.ObjectID // the default pager's object behind it
}

// Store is one backing store of the default pager.
type Store struct {
	ID   mo.BackingStoreID
	Info mo.BackingStoreInfo
	What string // what it is made of, for the reader
}

// System is what the console looks at.
type System interface {
	// Sample returns the kernel's and the pager wrapper's counters now.
	Sample() probe.Sample
	// Objects and ObjectPages are the default pager's.
	Objects() []defaultpager.ObjectInfo
	ObjectPages(id defaultpager.ObjectID) ([]defaultpager.PageInfo, error)
	// Stores lists the default pager's stores, its space and counters.
	Stores() ([]Store, defaultpager.Info, defaultpager.Stats)
	// Window is the kernel's window; Mappings its map, by address.
	Window() board.Region
	Mappings() []Mapping
	// Load reads the byte at addr, inside a mapping.
	Load(addr uint32) byte
	// Trace is the kernel's protocol trace.
	Trace() *mo.Trace
}

// Prompt is printed before each command line.
const Prompt = "tamach> "

// MaxLine is the longest command line taken.
const MaxLine = 200

// ErrLineTooLong is returned by ReadLine for a line longer than MaxLine;
// the rest of the line has been read and dropped.
var ErrLineTooLong = errors.New("line too long")

// Shell runs commands against a System.
type Shell struct {
	sys       System
	out       io.Writer
	last      probe.Sample // at the last vmstat
	traceOn   bool
	traceNext uint64 // first trace event not printed yet
	events    []mo.Event
	line      []byte
}

// New returns a console for sys writing to out; vmstat's first interval
// starts now.
func New(sys System, out io.Writer) *Shell {
	return &Shell{sys: sys, out: out, last: sys.Sample()}
}

// Run reads lines from in, echoing what is typed, and runs them until
// exit or the end of the input.
func (s *Shell) Run(in io.ByteReader) {
	fmt.Fprintln(s.out, "tamach console: help lists the commands")
	lr := &LineReader{In: in, Echo: s.out}
	for {
		s.flushTrace()
		io.WriteString(s.out, Prompt)
		line, err := lr.ReadLine()
		if errors.Is(err, ErrLineTooLong) {
			fmt.Fprintf(s.out, "error: line longer than %d characters\n", MaxLine)
			continue
		}
		if err != nil {
			fmt.Fprintln(s.out)
			return
		}
		if s.Exec(line) {
			return
		}
	}
}

// LineReader reads command lines as a terminal's user types them.
type LineReader struct {
	In      io.ByteReader
	Echo    io.Writer
	afterCR bool // the last line ended with CR: a LF right after it is part of that end
	buf     []byte
}

// ReadLine reads one line, echoing it: CR, LF or CR LF ends it, backspace
// and DEL erase a character, other control characters are dropped. A line
// longer than MaxLine is read to its end and refused with ErrLineTooLong.
func (r *LineReader) ReadLine() (string, error) {
	r.buf = r.buf[:0]
	long := false
	for {
		c, err := r.In.ReadByte()
		if err != nil {
			return "", err
		}
		afterCR := r.afterCR
		r.afterCR = false
		switch {
		case c == '\n' && afterCR:
		case c == '\r' || c == '\n':
			r.afterCR = c == '\r'
			io.WriteString(r.Echo, "\n")
			if long {
				return "", ErrLineTooLong
			}
			return string(r.buf), nil
		case c == 0x08 || c == 0x7f:
			if len(r.buf) > 0 {
				r.buf = r.buf[:len(r.buf)-1]
				io.WriteString(r.Echo, "\b \b")
			}
		case c < 0x20 || c > 0x7e:
		case len(r.buf) == MaxLine:
			long = true
		default:
			r.buf = append(r.buf, c)
			r.Echo.Write([]byte{c})
		}
	}
}

// Exec runs one command line and reports whether it was exit.
func (s *Shell) Exec(line string) (exit bool) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false
	}
	cmd, args := f[0], f[1:]
	want := func(n int, usage string) bool {
		if len(args) != n {
			fmt.Fprintf(s.out, "error: usage: %s\n", usage)
			return false
		}
		return true
	}
	switch cmd {
	case "help":
		if want(0, "help") {
			s.help()
		}
	case "vmstat":
		if want(0, "vmstat") {
			cur := s.sys.Sample()
			fmt.Fprintln(s.out, probe.Header)
			probe.WriteLine(s.out, &s.last, &cur)
			s.last = cur
		}
	case "objects":
		if want(0, "objects") {
			s.objects()
		}
	case "pages":
		if want(1, "pages OBJECT (a number that objects lists)") {
			s.pages(args[0])
		}
	case "stores":
		if want(0, "stores") {
			s.stores()
		}
	case "trace":
		if want(1, "trace on|off") {
			s.trace(args[0])
		}
	case "touch":
		if want(1, "touch ADDRESS (hexadecimal with 0x, or decimal)") {
			s.touch(args[0])
		}
	case "exit", "quit":
		if want(0, cmd) {
			fmt.Fprintln(s.out, "bye")
			return true
		}
	default:
		fmt.Fprintf(s.out, "error: unknown command %q: help lists the commands\n", cmd)
	}
	return false
}

func (s *Shell) help() {
	io.WriteString(s.out, `commands:
  vmstat         counters since the last vmstat: free and resident frames, faults,
                 page-ins, page-outs, evictions, pager round trips (median, 99th percentile)
  objects        the default pager's objects, where they are mapped and stored
  pages OBJECT   where each stored page of OBJECT is (object_pages), as runs of slots
  stores         the default pager's backing stores and free space
  trace on|off   print each protocol call, one a line, before each prompt
  touch ADDRESS  load the byte at ADDRESS: inside a mapping this faults the page in;
                 outside every mapping vm's fault report is printed instead
  help           this list
  exit           leave the console
`)
}

// ParseAddress reads a 32-bit address: hexadecimal with 0x, or decimal.
func ParseAddress(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("address %q does not fit in 32 bits", s)
		}
		return 0, fmt.Errorf("bad address %q: want hexadecimal with 0x, or decimal", s)
	}
	return uint32(v), nil
}

// ParseObject reads an object number as objects lists it.
func ParseObject(s string) (defaultpager.ObjectID, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("bad object %q: want a number that objects lists", s)
	}
	return defaultpager.ObjectID(v), nil
}
