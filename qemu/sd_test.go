package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4G": 4 << 30, "8g": 8 << 30, "1T": 1 << 40, "4096M": 4 << 30, "12": 12} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "-4G", "4X", "99999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestSDSizeOK(t *testing.T) {
	for size, want := range map[int64]bool{4 << 30: true, 16 << 30: true, 2 << 30: false, 6 << 30: false, 0: false} {
		if SDSizeOK(size) != want {
			t.Errorf("SDSizeOK(%d) = %v", size, !want)
		}
	}
}

// TestRunGivesAFreshSparseSDImage: Run attaches a sparse image of the
// size asked for as USDHC1's card and removes it when QEMU exits; an SD
// drive in Extra replaces it. The emulator here is a script that reports
// what it was given.
func TestRunGivesAFreshSparseSDImage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	img := filepath.Join(dir, "guest.elf")
	os.WriteFile(img, []byte("x"), 0o644)
	script := filepath.Join(dir, "fake-qemu")
	os.WriteFile(script, []byte(`#!/bin/sh
for a in "$@"; do
  case "$a" in
  if=sd*file=*) f="${a##*file=}"; echo "drive $a"; echo "size $(stat -c %s "$f") blocks $(stat -c %b "$f")";;
  esac
done
`), 0o755)
	var out bytes.Buffer
	c := Config{QEMU: script, Image: img, SDSize: 4 << 30}
	if code, err := Run(t.Context(), &c, nil, &out, os.Stderr); err != nil || code != 0 {
		t.Fatalf("Run: %d %v", code, err)
	}
	if !strings.Contains(out.String(), "drive if=sd,index=0,format=raw,file="+dir) ||
		!strings.Contains(out.String(), "size 4294967296 blocks 0") {
		t.Fatalf("the emulator was not given a sparse 4 GiB image in USDHC1:\n%s", out.String())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "tamach-sd-*")); len(left) != 0 {
		t.Errorf("image left behind: %v", left)
	}
	out.Reset()
	c = Config{QEMU: script, Image: img, SDSize: 4 << 30, Extra: []string{"-drive", "if=sd,index=0,file=/own.img"}}
	if _, err := Run(t.Context(), &c, nil, &out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "drive ") != 1 || !strings.Contains(out.String(), "/own.img") {
		t.Errorf("an SD drive in Extra should be the only one:\n%s", out.String())
	}
	c = Config{QEMU: script, Image: img, SDSize: 3 << 30}
	if _, err := Run(t.Context(), &c, nil, &out, os.Stderr); err == nil {
		t.Error("a 3 GiB SD image accepted")
	}
}
