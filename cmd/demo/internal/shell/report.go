package shell

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/defaultpager"
)

// Run is a run of pages stored in consecutive slots of one store, at
// consecutive offsets.
type Run struct {
	Offset mo.Offset
	Pages  int
	Store  mo.BackingStoreID
	Slot   uint64
}

// Runs groups pages (in offset order) into runs.
func Runs(pages []defaultpager.PageInfo, pageSize mo.Size) []Run {
	var runs []Run
	for _, p := range pages {
		if n := len(runs); n > 0 {
			r := &runs[n-1]
			if r.Store == p.Store && p.Offset == r.Offset+mo.Offset(r.Pages)*mo.Offset(pageSize) &&
				p.Slot == r.Slot+uint64(r.Pages) {
				r.Pages++
				continue
			}
		}
		runs = append(runs, Run{Offset: p.Offset, Pages: 1, Store: p.Store, Slot: p.Slot})
	}
	return runs
}

// WriteObjects prints one line per object: its size, where it is mapped,
// the pages the pager holds for it and in how many runs of consecutive
// slots (object_pages, summed up).
func WriteObjects(w io.Writer, objs []defaultpager.ObjectInfo, maps []Mapping, pages func(defaultpager.ObjectID) ([]defaultpager.PageInfo, error), pageSize mo.Size) {
	fmt.Fprintln(w, "object       size  mapped at    kind       stored pages  stores  slot runs")
	for _, o := range objs {
		at := "-"
		for _, m := range maps {
			if m.Object == o.ID {
				at = fmt.Sprintf("%#08x", m.Addr)
			}
		}
		kind := "named"
		if o.Temporary {
			kind = "anonymous"
		}
		ps, err := pages(o.ID)
		if err != nil {
			fmt.Fprintf(w, "%6d %10s  %-10s   %-9s  %12d  (object_pages: %v)\n", o.ID, sizeText(uint64(o.Size)), at, kind, o.Pages, err)
			continue
		}
		var stores []string
		for _, p := range ps {
			id := fmt.Sprint(p.Store)
			if len(stores) == 0 || stores[len(stores)-1] != id {
				stores = append(stores, id)
			}
		}
		st := strings.Join(stores, ",")
		if st == "" {
			st = "-"
		}
		fmt.Fprintf(w, "%6d %10s  %-10s   %-9s  %12d  %6s  %9d\n", o.ID, sizeText(uint64(o.Size)), at, kind, o.Pages, st, len(Runs(ps, pageSize)))
	}
	if len(objs) == 0 {
		fmt.Fprintln(w, "(no objects)")
	}
}

// WritePages prints the runs of an object's stored pages.
func WritePages(w io.Writer, id defaultpager.ObjectID, pages []defaultpager.PageInfo, pageSize mo.Size) {
	runs := Runs(pages, pageSize)
	fmt.Fprintf(w, "object %d: %d pages stored in %d runs\n", id, len(pages), len(runs))
	fmt.Fprintln(w, "   offsets                  pages  store  slots")
	for _, r := range runs {
		end := r.Offset + mo.Offset(r.Pages)*mo.Offset(pageSize) - 1
		fmt.Fprintf(w, "   %#09x-%#09x  %6d  %5d  %d-%d\n", uint64(r.Offset), uint64(end), r.Pages, r.Store, r.Slot, r.Slot+uint64(r.Pages)-1)
	}
}

// WriteStores prints the default pager's stores, its space and counters.
func WriteStores(w io.Writer, stores []Store, info defaultpager.Info, st defaultpager.Stats) {
	fmt.Fprintln(w, "store  priority  cluster     pages      free  what")
	for _, s := range stores {
		fmt.Fprintf(w, "%5d  %8d  %7s  %8d  %8d  %s\n", s.ID, s.Info.Priority, sizeText(uint64(s.Info.ClusterSize)), s.Info.Pages, s.Info.FreePages, s.What)
	}
	fmt.Fprintf(w, "default pager: %s total, %s free, pages of %s; page-ins %d, page-outs %d, read errors %d, write errors %d\n",
		sizeText(uint64(info.TotalSpace)), sizeText(uint64(info.FreeSpace)), sizeText(uint64(info.PageSize)),
		st.PageIns, st.PageOuts, st.ReadErrors, st.WriteErrors)
}

// sizeText formats a size in KiB or MiB when it is a whole number of them.
func sizeText(n uint64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func (s *Shell) objects() {
	WriteObjects(s.out, s.sys.Objects(), s.sys.Mappings(), s.sys.ObjectPages, s.pageSize())
}

func (s *Shell) pageSize() mo.Size {
	_, info, _ := s.sys.Stores()
	return info.PageSize
}

func (s *Shell) pages(arg string) {
	id, err := ParseObject(arg)
	if err != nil {
		fmt.Fprintln(s.out, "error:", err)
		return
	}
	ps, err := s.sys.ObjectPages(id)
	if errors.Is(err, mo.KernInvalidArgument) {
		fmt.Fprintf(s.out, "error: no object %d: objects lists them\n", id)
		return
	}
	if err != nil {
		fmt.Fprintln(s.out, "error:", err)
		return
	}
	WritePages(s.out, id, ps, s.pageSize())
}

func (s *Shell) stores() {
	stores, info, st := s.sys.Stores()
	WriteStores(s.out, stores, info, st)
}

func (s *Shell) trace(arg string) {
	switch arg {
	case "on":
		s.traceOn = true
		s.traceNext = s.sys.Trace().Total()
		fmt.Fprintln(s.out, "trace on: each protocol call is printed before the next prompt")
	case "off":
		s.flushTrace()
		s.traceOn = false
		fmt.Fprintln(s.out, "trace off")
	default:
		fmt.Fprintf(s.out, "error: usage: trace on|off (not %q)\n", arg)
	}
}

// flushTrace prints the calls recorded since the last flush, one a line.
func (s *Shell) flushTrace() {
	if !s.traceOn {
		return
	}
	s.events = s.sys.Trace().Events(s.events[:0])
	if len(s.events) > 0 && s.events[0].N > s.traceNext {
		fmt.Fprintf(s.out, "trace: %d calls not shown (the ring holds the last %d)\n", s.events[0].N-s.traceNext, len(s.events))
	}
	var line []byte
	for i := range s.events {
		e := &s.events[i]
		if e.N < s.traceNext {
			continue
		}
		line = append(e.AppendText(line[:0]), '\n')
		s.out.Write(line)
		s.traceNext = e.N + 1
	}
}

func (s *Shell) touch(arg string) {
	addr, err := ParseAddress(arg)
	if err != nil {
		fmt.Fprintln(s.out, "error:", err)
		return
	}
	maps := s.sys.Mappings()
	for _, m := range maps {
		if addr-m.Addr < m.Size {
			before := s.sys.Sample()
			v := s.sys.Load(addr)
			after := s.sys.Sample()
			faults := after.VM.Faults - before.VM.Faults
			what := "resident and mapped: no fault"
			if faults > 0 {
				what = fmt.Sprintf("%d fault(s), %d page-in(s)", faults, after.VM.PageIns-before.VM.PageIns)
				if z := after.VM.ZeroFills - before.VM.ZeroFills; z > 0 {
					what += fmt.Sprintf(" (%d zero-filled by the kernel: never paged out)", z)
				}
			}
			fmt.Fprintf(s.out, "touch %#08x: read %#02x (object %d offset %#x): %s\n", addr, v, m.Object, addr-m.Addr, what)
			return
		}
	}
	win := s.sys.Window()
	fmt.Fprintf(s.out, "fault report (vm): read at %#08x: no mapping\n", addr)
	if addr-win.Start < win.Size {
		fmt.Fprintf(s.out, "  the address is in the window %v but in no mapping of the kernel's map:\n", win)
		fmt.Fprintln(s.out, "  the kernel would answer the translation fault Unhandled and the abort hook would stop the program")
	} else {
		fmt.Fprintf(s.out, "  the address is outside the kernel's window %v: vm does not manage it\n", win)
	}
	fmt.Fprintln(s.out, "  map:")
	for _, m := range maps {
		fmt.Fprintf(s.out, "    %#08x-%#08x  %8s  object %d\n", m.Addr, uint64(m.Addr)+uint64(m.Size)-1, sizeText(uint64(m.Size)), m.Object)
	}
	if len(maps) == 0 {
		fmt.Fprintln(s.out, "    (empty)")
	}
	fmt.Fprintln(s.out, "  not touched: the console keeps running")
}
