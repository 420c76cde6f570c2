package pmap

import (
	"testing"
	"time"
)

// Benchmarks report ns/op and, as "x4Kcopy", the ratio to a 4 KiB copy
// measured in the same run.

var copySrc, copyDst [4096]byte

func copyBaseline() float64 {
	const n = 20000
	start := time.Now()
	for i := 0; i < n; i++ {
		copy(copyDst[:], copySrc[:])
		copySrc[i&4095]++
	}
	return float64(time.Since(start).Nanoseconds()) / n
}

func reportRatio(b *testing.B, base float64) {
	b.StopTimer()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/base, "x4Kcopy")
}

func BenchmarkCopy4K(b *testing.B) {
	base := copyBaseline()
	for b.Loop() {
		copy(copyDst[:], copySrc[:])
	}
	reportRatio(b, base)
}

// BenchmarkEnter enters one small page into an existing table, replacing
// nothing (the fault path's case), and removes it every 256 pages.
func BenchmarkEnter(b *testing.B) {
	e := newEnv(b, 1, 2)
	p := e.p
	keep := uint32(testWindow + 0xff000)
	if err := p.Enter(keep, testRAM, ProtRead, MemNormal, Page4K, 0); err != nil {
		b.Fatal(err)
	}
	base := copyBaseline()
	b.ResetTimer()
	i := uint32(0)
	for b.Loop() {
		va := testWindow + i<<12
		if err := p.Enter(va, testRAM+i<<12, ProtRead|ProtWrite, MemNormal, Page4K, Accessed); err != nil {
			b.Fatal(err)
		}
		i++
		if i == 255 {
			e.mmu.Reset()
			b.StopTimer()
			p.Remove(testWindow, testWindow+255<<12)
			i = 0
			b.StartTimer()
		}
	}
	reportRatio(b, base)
}

// BenchmarkEnterRemove enters one small page into an existing table and
// removes it again (the table stays: another page keeps it); Remove costs
// the difference from BenchmarkEnter.
func BenchmarkEnterRemove(b *testing.B) {
	e := newEnv(b, 1, 2)
	p := e.p
	p.Enter(testWindow+0xff000, testRAM, ProtRead, MemNormal, Page4K, 0)
	base := copyBaseline()
	b.ResetTimer()
	for b.Loop() {
		e.mmu.Reset()
		if err := p.Enter(testWindow, testRAM, ProtRead, MemNormal, Page4K, Accessed); err != nil {
			b.Fatal(err)
		}
		if err := p.Remove(testWindow, testWindow+0x1000); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, base)
}

// BenchmarkProtect write-protects and unprotects 16 modified small pages
// (two Protect calls per op).
func BenchmarkProtect(b *testing.B) {
	e := newEnv(b, 1, 2)
	p := e.p
	for i := uint32(0); i < 16; i++ {
		p.Enter(testWindow+i<<12, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, Accessed|Written)
	}
	base := copyBaseline()
	b.ResetTimer()
	for b.Loop() {
		e.mmu.Reset()
		p.Protect(testWindow, testWindow+16<<12, ProtRead)
		p.Protect(testWindow, testWindow+16<<12, ProtRead|ProtWrite)
	}
	reportRatio(b, base)
}

// BenchmarkUpgrade resolves a write fault on a clean writable page (the
// modified-tracking fast path) and clears it again.
func BenchmarkUpgrade(b *testing.B) {
	e := newEnv(b, 1, 2)
	p := e.p
	va := uint32(testWindow + 0x3000)
	p.Enter(va, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, Accessed)
	f := DecodeData(fsrWnR|FSPermissionPage, va)
	base := copyBaseline()
	b.ResetTimer()
	for b.Loop() {
		e.mmu.Reset()
		if p.Upgrade(&f) == 0 {
			b.Fatal("not upgraded")
		}
		p.ClearModified(va)
	}
	reportRatio(b, base)
}

// BenchmarkWalk translates a mapped small page.
func BenchmarkWalk(b *testing.B) {
	e := newEnv(b, 1, 2)
	va := uint32(testWindow + 0x3000)
	e.p.Enter(va, testRAM, ProtRead|ProtWrite, MemNormal, Page4K, Accessed|Written)
	w := &e.walk
	base := copyBaseline()
	b.ResetTimer()
	for b.Loop() {
		if _, _, ok := w.Walk(va+0x10, Write); !ok {
			b.Fatal("fault")
		}
	}
	reportRatio(b, base)
}

// BenchmarkDecodeData decodes a data abort.
func BenchmarkDecodeData(b *testing.B) {
	base := copyBaseline()
	var f Fault
	for b.Loop() {
		f = DecodeData(fsrWnR|FSPermissionPage, testWindow)
	}
	_ = f
	reportRatio(b, base)
}

// BenchmarkReclaim is the clock's harvest of an idle clean page, dropped
// (Reclaim with drop, one small page in a table that keeps others); the
// pages are entered again, outside the timer, every 255.
func BenchmarkReclaim(b *testing.B) {
	e := newEnv(b, 1, 2)
	p := e.p
	p.Enter(testWindow+0xff000, testRAM, ProtRead, MemNormal, Page4K, 0)
	enterAll := func() {
		for i := uint32(0); i < 255; i++ {
			if err := p.Enter(testWindow+i<<12, testRAM+i<<12, ProtRead|ProtWrite, MemNormal, Page4K, 0); err != nil {
				b.Fatal(err)
			}
		}
		e.mmu.Reset()
	}
	enterAll()
	base := copyBaseline()
	b.ResetTimer()
	i := uint32(0)
	for b.Loop() {
		if h := p.Reclaim(testWindow+i<<12, true); h != HarvestMapped|HarvestRemoved {
			b.Fatalf("Reclaim = %#x", h)
		}
		if i++; i == 255 {
			b.StopTimer()
			enterAll()
			i = 0
			b.StartTimer()
		}
	}
	reportRatio(b, base)
}
