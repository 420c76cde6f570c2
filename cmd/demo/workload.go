package main

import (
	"cmp"
	"fmt"
	"slices"
)

// The workload: records of a key and the record's number, generated,
// sorted by key and verified in place in anonymous memory several times
// the size of the kernel's frames, so that the sort pages through the
// default pager all along.

type record struct {
	Key uint64
	Val uint64
}

// mix is splitmix64's finaliser: the key of record i (Steele, Lea and
// Flood, Fast splittable pseudorandom number generators, 2014).
func mix(i uint64) uint64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// every is how many steps of a phase run between two calls of pause: on
// TamaGo's single core a goroutine that never yields would keep the
// vmstat goroutine from printing.
const every = 1 << 14

// generate fills recs with records 0..n-1 in the order of a round's
// permutation (round 0: in order), so each round sorts a new input.
func generate(recs []record, round uint64, pause func()) {
	n := uint64(len(recs))
	for i := range recs {
		v := (uint64(i)*stride(n, round) + round) % n
		recs[i] = record{Key: mix(v), Val: v}
		if i%every == 0 {
			pause()
		}
	}
}

// stride returns a multiplier coprime with n, different for each round,
// so that i -> i*stride+round is a permutation of [0, n).
func stride(n, round uint64) uint64 {
	s := 1 + 2*round*7919
	for gcd(s, n) != 1 {
		s++
	}
	return s
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// sortRecords sorts recs by key (pattern-defeating quicksort, in place).
func sortRecords(recs []record, pause func()) {
	n := 0
	slices.SortFunc(recs, func(a, b record) int {
		if n++; n%every == 0 {
			pause()
		}
		return cmp.Compare(a.Key, b.Key)
	})
}

// verify checks that recs holds each record 0..len-1 exactly once, each
// with its key, in key order. seen is scratch of len(recs) bits.
func verify(recs []record, seen []uint64, pause func()) error {
	clear(seen)
	n := uint64(len(recs))
	for i := range recs {
		r := recs[i]
		switch {
		case r.Val >= n:
			return fmt.Errorf("record %d holds number %d, beyond the %d records", i, r.Val, n)
		case r.Key != mix(r.Val):
			return fmt.Errorf("record %d (number %d) holds key %#x, want %#x", i, r.Val, r.Key, mix(r.Val))
		case seen[r.Val/64]&(1<<(r.Val%64)) != 0:
			return fmt.Errorf("record %d: number %d appears twice", i, r.Val)
		case i > 0 && recs[i-1].Key > r.Key:
			return fmt.Errorf("records %d and %d out of order: %#x > %#x", i-1, i, recs[i-1].Key, r.Key)
		}
		seen[r.Val/64] |= 1 << (r.Val % 64)
		if i%every == 0 {
			pause()
		}
	}
	return nil
}
