//go:build !tamago

package pmap

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// asmOps reads the upkeep operations, in order, of each function of an
// assembly file: the MCR encodings and barrier words of upkeep_arm.s
// (ARM ARM Table B4-5, B4-6; A8.8.44, A8.8.53).
func asmOps(t *testing.T, file string) map[string][]MMUOp {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]MMUOp{
		"MCR 15, 0, C7, C10, 1": OpCleanDCacheLine,
		"MCR 15, 0, C8, C7, 1":  OpInvalidateTLB,
		"MCR 15, 0, C8, C7, 0":  OpInvalidateTLBAll,
		"MCR 15, 0, C7, C5, 6":  OpBPIALL,
		"WORD $0xf57ff04f":      OpDSB,
		"WORD $0xf57ff06f":      OpISB,
	}
	text := regexp.MustCompile(`^TEXT\s+·(\w+)\(SB\)`)
	mcr := regexp.MustCompile(`^MCR\s+15,\s*0,\s*R\d+,\s*(C\d+),\s*(C\d+),\s*(\d+)`)
	word := regexp.MustCompile(`^WORD\s+(\$0x[0-9a-f]+)`)
	fns := map[string][]MMUOp{}
	fn := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if m := text.FindStringSubmatch(line); m != nil {
			fn = m[1]
			fns[fn] = []MMUOp{}
			continue
		}
		var key string
		if m := mcr.FindStringSubmatch(line); m != nil {
			key = "MCR 15, 0, " + m[1] + ", " + m[2] + ", " + m[3]
		} else if m := word.FindStringSubmatch(line); m != nil {
			key = "WORD " + m[1]
		} else if strings.HasPrefix(line, "MCR") || strings.HasPrefix(line, "WORD") {
			t.Fatalf("%s: %q is no upkeep operation this test knows", file, line)
		} else {
			continue
		}
		op, ok := known[key]
		if !ok {
			t.Fatalf("%s: %q is no upkeep operation this test knows", file, line)
		}
		fns[fn] = append(fns[fn], op)
	}
	return fns
}

// TestFusedUpkeepMatchesRecordedSequences: the assembly sequences the
// target runs for Hardware issue exactly the operations, in the same
// order, that the host records through the MMU methods, which the other
// host tests check against ARM ARM B3.10 and the coherence model.
func TestFusedUpkeepMatchesRecordedSequences(t *testing.T) {
	asm := asmOps(t, "upkeep_arm.s")
	rec := NewRecordingMMU(16)
	u := newEntryUpkeep(rec)
	for _, c := range []struct {
		asm  string
		sync func(desc, va uint32)
		want []MMUOp
	}{
		{"syncNewEntry", u.syncNew, []MMUOp{OpCleanDCacheLine, OpDSB, OpISB}},
		{"syncChangedEntry", u.syncChange, []MMUOp{OpCleanDCacheLine, OpDSB, OpInvalidateTLB, OpDSB, OpISB}},
		{"syncReplacedEntry", u.syncReplace, []MMUOp{OpCleanDCacheLine, OpDSB, OpInvalidateTLB, OpBPIALL, OpDSB, OpISB}},
	} {
		rec.Reset()
		c.sync(testTablesPA+0x24, testWindow+0x9000)
		got, ok := asm[c.asm]
		if !ok {
			t.Errorf("upkeep_arm.s has no %s", c.asm)
			continue
		}
		if !slices.Equal(ops(rec), c.want) {
			t.Errorf("%s through the MMU: %v, want %v", c.asm, ops(rec), c.want)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s in assembly: %v, want %v", c.asm, got, c.want)
		}
		for _, l := range rec.Log {
			if l.Op == OpCleanDCacheLine && l.Arg != testTablesPA+0x24 || l.Op == OpInvalidateTLB && l.Arg != testWindow+0x9000 {
				t.Errorf("%s: %v of %#x", c.asm, l.Op, l.Arg)
			}
		}
	}
	if len(asm) != 3 {
		t.Errorf("upkeep_arm.s has %d functions, the test knows 3", len(asm))
	}
}
