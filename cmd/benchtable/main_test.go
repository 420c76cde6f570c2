package main

import (
	"bytes"
	"strings"
	"testing"
)

const targetOut = `=== RUN   TestX
goos: tamago
goarch: arm
pkg: github.com/tamach/tamach/vm
BenchmarkTargetResidentFault 	  300000	       402.0 ns/op
BenchmarkTargetResidentFault: target_test.go:20: 300 faults
BenchmarkTargetCopy4K        	 1000000	       690 ns/op
BenchmarkTargetZeroFillFault 	  300000	       860.0 ns/op
BenchmarkTargetClear4K       	 1000000	       550 ns/op
PASS
pkg: github.com/tamach/tamach/pmap
BenchmarkTargetEnter-2 	 1000000	       186.5 ns/op
BenchmarkTargetCopy4K-2 	 1000000	       700 ns/op
pkg: github.com/tamach/tamach/internal/pagemem
BenchmarkTargetPageClear 	 1000000	       87 ns/op
BenchmarkTargetCopy4K 	 1000000	       690 ns/op
`

const hostOut = `pkg: github.com/tamach/tamach/vm
BenchmarkResidentFault-2   	 1000000	       120.0 ns/op	         0.6000 x4KiBcopy	       200.0 ns/4KiBcopy
BenchmarkProbeLock-2   	 1000000	       12.0 ns/op	         0.06 x4KiBcopy
pkg: github.com/tamach/tamach/pager/defaultpager
BenchmarkPageIn/ram-2 	  500000	       400 ns/op	         2.000 x-copy	       200.0 copy-ns/op	       0 B/op	       0 allocs/op
pkg: github.com/tamach/tamach/pmap
BenchmarkCopy4K-2 	 1000000	       100 ns/op	 1.000 x4Kcopy
BenchmarkWalk-2 	 1000000	       5 ns/op
`

func TestTable(t *testing.T) {
	var rows []Row
	for _, in := range []struct {
		text   string
		target bool
	}{{targetOut, true}, {hostOut, false}} {
		res, err := Parse(strings.NewReader(in.text))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Rows(res, in.target)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	var out bytes.Buffer
	Write(&out, rows)
	want := `| operation | where | tamach | reference: 4 KiB copy | ratio | budget (instructions) |
| --- | --- | ---: | ---: | ---: | --- |
| vm ResidentFault | QEMU | 402 instr | 690 instr | 0.58 | <= 700: met; goal <= 400: over |
| vm ZeroFillFault | QEMU | 860 instr | 690 instr | 1.25 | <= Clear4K + 350 = 900: met; beyond pagemem PageClear (87): 773, <= 350: over |
| vm Clear4K | QEMU | 550 instr | 690 instr | 0.80 |  |
| pmap Enter | QEMU | 186 instr | 700 instr | 0.27 |  |
| pagemem PageClear | QEMU | 87 instr | 690 instr | 0.13 |  |
| vm ResidentFault | host | 120 ns | 200 ns | 0.60 |  |
| defaultpager PageIn/ram | host | 400 ns | 200 ns | 2.00 |  |
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestRunWithoutTargetCopyIsAnError(t *testing.T) {
	res, _ := Parse(strings.NewReader("pkg: x/vm\nBenchmarkTargetZeroFillFault 10 900 ns/op\n"))
	if _, err := Rows(res, true); err == nil || !strings.Contains(err.Error(), "no BenchmarkTargetCopy4K") {
		t.Errorf("err = %v", err)
	}
}

func TestPackageWithoutCopyTakesTheRunsCopy(t *testing.T) {
	res, _ := Parse(strings.NewReader("pkg: x/vm\nBenchmarkTargetCopy4K 10 690 ns/op\npkg: x/usdhc\nBenchmarkTargetSDRead4K 10 14100 ns/op\n"))
	rows, err := Rows(res, true)
	if err != nil || len(rows) != 1 || rows[0].Reference != "690 instr" {
		t.Errorf("rows %+v, err %v", rows, err)
	}
}

func TestBudgetWithoutReferenceIsAnError(t *testing.T) {
	res, _ := Parse(strings.NewReader("pkg: x/vm\nBenchmarkTargetZeroFillFault 10 900 ns/op\nBenchmarkTargetCopy4K 10 690 ns/op\n"))
	if _, err := Rows(res, true); err == nil || !strings.Contains(err.Error(), "no BenchmarkTargetClear4K") {
		t.Errorf("err = %v", err)
	}
}

func TestBadValueIsAnError(t *testing.T) {
	if _, err := Parse(strings.NewReader("BenchmarkX 10 fast ns/op\n")); err == nil {
		t.Error("a bad value was taken")
	}
}
