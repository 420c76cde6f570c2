// Command benchtable turns the output of go test -bench into one table:
// operation, where it ran, tamach's figure, the reference (a 4 KiB copy
// measured in the same run) and their ratio.
//
//	benchtable [-target FILE]... [-host FILE]...
//
// Target files hold on-target benchmarks (BenchmarkTarget*) run under
// QEMU with -icount shift=0, where ns/op counts instructions; the
// reference of each is its package's BenchmarkTargetCopy4K, or for a
// package without one the first of the run (the same copy on the same
// core). Host files
// hold host benchmarks that report their ratio to a 4 KiB copy in the
// same run as a metric whose unit starts with x (x4Kcopy, x4KiBcopy,
// x-copy); the reference is ns/op divided by it. The table is Markdown.
// Probe benchmarks (BenchmarkProbe*), being measurement aids, are left
// out, as are the copies themselves.
//
// The last column gives the budget of the on-target benchmarks that have
// one (the acceptance figures of the issues that asked for them): a
// limit ("must") and a goal, in instructions, fixed or relative to a
// reference measured in the same package and run, with whether the
// figure meets it.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	var target, host files
	flag.Var(&target, "target", "output of on-target benchmarks run with qemu-run -icount (repeatable)")
	flag.Var(&host, "host", "output of host benchmarks (repeatable)")
	flag.Parse()
	if len(target)+len(host) == 0 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: benchtable [-target FILE]... [-host FILE]...")
		os.Exit(2)
	}
	var rows []Row
	for _, set := range []struct {
		names  files
		target bool
	}{{target, true}, {host, false}} {
		for _, name := range set.names {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "benchtable:", err)
				os.Exit(1)
			}
			results, err := Parse(f)
			f.Close()
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchtable: %s: %v\n", name, err)
				os.Exit(1)
			}
			r, err := Rows(results, set.target)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchtable: %s: %v\n", name, err)
				os.Exit(1)
			}
			rows = append(rows, r...)
		}
	}
	Write(os.Stdout, rows)
}

// Result is one benchmark line.
type Result struct {
	Pkg     string // the last element of the package path
	Name    string // without Benchmark and the -GOMAXPROCS suffix
	NsPerOp float64
	Metrics map[string]float64 // by unit
}

// Parse reads go test -bench output: pkg: lines name the package of the
// benchmark lines that follow.
func Parse(r io.Reader) ([]Result, error) {
	var out []Result
	pkg := ""
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndexByte(p, '/')+1:]
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // a benchmark's log line, not its result
		}
		res := Result{Pkg: pkg, Name: trimProcs(strings.TrimPrefix(f[0], "Benchmark")), Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("bad value %q in %q", f[i], line)
			}
			res.Metrics[f[i+1]] = v
		}
		ns, ok := res.Metrics["ns/op"]
		if !ok {
			return nil, fmt.Errorf("no ns/op in %q", line)
		}
		res.NsPerOp = ns
		out = append(out, res)
	}
	return out, s.Err()
}

// trimProcs drops the -N that go test appends for GOMAXPROCS > 1.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// Row is one line of the table.
type Row struct {
	Operation string
	Where     string
	Tamach    string
	Reference string
	Ratio     float64
	Budget    string
}

// Budget is the instruction budget of an on-target benchmark: at most
// Limit (a must) and, if Goal is set, at most Goal (what to aim for),
// each plus the figure of the benchmark Ref of the same package when Ref
// is set (a 4 KiB clear or copy, the work any implementation does: Go's
// clear and copy). Own names tamach's own way of that work, as package
// and benchmark ("pagemem TargetPageClear"): when the run has it, the
// budget also says how the work beyond it compares with Limit, the
// stricter reading of the budget.
type Budget struct {
	Ref         string // a benchmark name without Benchmark, such as TargetClear4K
	Own         string // package and benchmark name, such as "pagemem TargetPageClear"
	Limit, Goal float64
}

// budgets are keyed by the table's operation (package and name).
var budgets = map[string]Budget{
	"vm ResidentFault":      {Limit: 700, Goal: 400},
	"vm ZeroFillFault":      {Ref: "TargetClear4K", Own: "pagemem TargetPageClear", Limit: 350},
	"vm SyncPagerRoundTrip": {Ref: "TargetCopy4K", Own: "pagemem TargetPageCopy", Limit: 1500},
	"vm EvictClean":         {Limit: 250},
	"pmap EnterPage":        {Goal: 100},
	"pmap FaultRoundTrip":   {Goal: 200},
}

// budget describes b for a figure v, with the run's results by package
// and name to find the references: the limit and the goal, each with
// "met" or "over".
func budget(b Budget, v float64, pkgName string, run map[string]map[string]float64) (string, error) {
	pkg := run[pkgName]
	base, ref := 0.0, ""
	if b.Ref != "" {
		r, ok := pkg[b.Ref]
		if !ok {
			return "", fmt.Errorf("no Benchmark%s for a budget", b.Ref)
		}
		base, ref = r, strings.TrimPrefix(b.Ref, "Target")+" + "
	}
	var parts []string
	for _, l := range []struct {
		name string
		n    float64
	}{{"", b.Limit}, {"goal ", b.Goal}} {
		if l.n == 0 {
			continue
		}
		verdict := "met"
		if v > base+l.n {
			verdict = "over"
		}
		if ref != "" {
			parts = append(parts, fmt.Sprintf("%s<= %s%.0f = %.0f: %s", l.name, ref, l.n, base+l.n, verdict))
		} else {
			parts = append(parts, fmt.Sprintf("%s<= %.0f: %s", l.name, l.n, verdict))
		}
	}
	if p, name, ok := strings.Cut(b.Own, " "); ok && b.Limit != 0 {
		if own, ok := run[p][name]; ok {
			verdict := "met"
			if v-own > b.Limit {
				verdict = "over"
			}
			parts = append(parts, fmt.Sprintf("beyond %s %s (%.0f): %.0f, <= %.0f: %s",
				p, strings.TrimPrefix(name, "Target"), own, v-own, b.Limit, verdict))
		}
	}
	return strings.Join(parts, "; "), nil
}

func isCopy(name string) bool {
	n := strings.TrimPrefix(name, "Target")
	return n == "Copy4K" || n == "Copy4KiB"
}

// Rows makes the table's rows of one run.
func Rows(results []Result, target bool) ([]Row, error) {
	var rows []Row
	if target {
		copies := map[string]float64{}
		byName := map[string]map[string]float64{}
		anyCopy := 0.0 // the first copy of the run, for packages without their own
		for _, r := range results {
			if isCopy(r.Name) {
				copies[r.Pkg] = r.NsPerOp
				if anyCopy == 0 {
					anyCopy = r.NsPerOp
				}
			}
			if byName[r.Pkg] == nil {
				byName[r.Pkg] = map[string]float64{}
			}
			byName[r.Pkg][r.Name] = r.NsPerOp
		}
		for _, r := range results {
			if isCopy(r.Name) || !strings.HasPrefix(r.Name, "Target") {
				continue
			}
			ref, ok := copies[r.Pkg]
			if !ok {
				ref = anyCopy // the same copy on the same core, measured in another package of the run
			}
			if ref <= 0 {
				return nil, fmt.Errorf("no BenchmarkTargetCopy4K in the run to compare %s %s with", r.Pkg, r.Name)
			}
			op := r.Pkg + " " + strings.TrimPrefix(r.Name, "Target")
			var text string
			if b, ok := budgets[op]; ok {
				var err error
				if text, err = budget(b, r.NsPerOp, r.Pkg, byName); err != nil {
					return nil, fmt.Errorf("%s: %v", op, err)
				}
			}
			rows = append(rows, Row{
				Operation: op,
				Where:     "QEMU",
				Tamach:    fmt.Sprintf("%.0f instr", r.NsPerOp),
				Reference: fmt.Sprintf("%.0f instr", ref),
				Ratio:     r.NsPerOp / ref,
				Budget:    text,
			})
		}
		return rows, nil
	}
	for _, r := range results {
		if isCopy(r.Name) || strings.HasPrefix(r.Name, "Probe") {
			continue
		}
		ratio, ok := 0.0, false
		for unit, v := range r.Metrics {
			if strings.HasPrefix(unit, "x") && strings.Contains(unit, "copy") {
				ratio, ok = v, true
			}
		}
		if !ok || ratio <= 0 {
			continue // no ratio to a copy: not one of the table's benchmarks
		}
		rows = append(rows, Row{
			Operation: r.Pkg + " " + r.Name,
			Where:     "host",
			Tamach:    ns(r.NsPerOp),
			Reference: ns(r.NsPerOp / ratio),
			Ratio:     ratio,
		})
	}
	return rows, nil
}

func ns(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ns", v)
	}
	return fmt.Sprintf("%.0f ns", v)
}

// Write prints the rows as a Markdown table.
func Write(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| operation | where | tamach | reference: 4 KiB copy | ratio | budget (instructions) |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | --- |")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f | %s |\n", r.Operation, r.Where, r.Tamach, r.Reference, r.Ratio, r.Budget)
	}
}
