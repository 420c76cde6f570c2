//go:build !tamago

package main

import (
	"strings"
	"testing"
)

// The workload, run on ordinary memory.

func TestWorkloadSortsAndVerifies(t *testing.T) {
	b := make([]byte, 16*5000)
	recs := records(b)
	if len(recs) != 5000 {
		t.Fatalf("%d records in %d bytes", len(recs), len(b))
	}
	seen := make([]uint64, (len(recs)+63)/64)
	pauses := 0
	pause := func() { pauses++ }
	for round := uint64(0); round < 3; round++ {
		generate(recs, round, pause)
		if err := verify(recs, seen, pause); err == nil && round > 0 {
			t.Errorf("round %d: unsorted input verified", round)
		}
		sortRecords(recs, pause)
		if err := verify(recs, seen, pause); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if pauses == 0 {
		t.Error("the workload never paused")
	}
}

func TestVerifyFindsEachFault(t *testing.T) {
	recs := make([]record, 1000)
	seen := make([]uint64, 16)
	nop := func() {}
	for _, c := range []struct {
		name  string
		spoil func([]record)
		want  string
	}{
		{"key", func(r []record) { r[10].Key ^= 1 }, "holds key"},
		{"duplicate", func(r []record) { r[11] = r[10] }, "appears twice"},
		{"order", func(r []record) { r[10], r[11] = r[11], r[10] }, "out of order"},
		{"range", func(r []record) { r[999].Val = 1000 }, "beyond the 1000 records"},
	} {
		generate(recs, 1, nop)
		sortRecords(recs, nop)
		c.spoil(recs)
		err := verify(recs, seen, nop)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

func TestGenerateIsAPermutation(t *testing.T) {
	for _, n := range []int{1, 2, 7, 64, 1 << 12} {
		recs := make([]record, n)
		for round := uint64(0); round < 4; round++ {
			generate(recs, round, func() {})
			seen := make(map[uint64]bool)
			for _, r := range recs {
				if seen[r.Val] || r.Val >= uint64(n) || r.Key != mix(r.Val) {
					t.Fatalf("n %d round %d: record %+v repeated, out of range or with a wrong key", n, round, r)
				}
				seen[r.Val] = true
			}
		}
	}
}
