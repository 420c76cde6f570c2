package vm

import (
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/rampager"
)

// TestClockWithTwoMappings: the clock's harvest (one Pmap.Reclaim per
// mapping) over a page mapped twice drops a clean idle page with both of
// its mappings, gives a page referenced through either mapping a second
// chance, and keeps a page written through the second mapping, dirty,
// even when its first mapping, idle, is removed on the way; nothing is
// lost.
func TestClockWithTwoMappings(t *testing.T) {
	e := newEnv(t, envOpt{ps: 4 << 10, frames: 16, noPageout: true})
	init := make([]byte, 4*4096)
	for i := range init {
		init[i] = byte(i/4096 + 1)
	}
	obj, err := rampager.New(rampager.Config{Size: mo.Size(len(init)), Initial: init})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.k.Map(obj, mo.Size(len(init)), 0, uint32(len(init)), MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.k.Map(obj, mo.Size(len(init)), 0, uint32(len(init)), MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k := e.k
	page := func(r *Region, i int) uint32 { return r.Addr() + uint32(i)*4096 }
	mapped := func(r *Region, i int) bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		_, ok := k.pm.Lookup(page(r, i))
		return ok
	}
	one := []byte{0}
	for i := 0; i < 4; i++ {
		for _, r := range []*Region{a, b} {
			if err := e.load(page(r, i), one); err != nil || one[0] != byte(i+1) {
				t.Fatalf("page %d: %d, %v", i, one[0], err)
			}
		}
	}
	reclaim := func(want int) int {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.pool.hand = 0
		freed, victim := k.reclaimLocked(want, true)
		if victim >= 0 {
			t.Fatalf("a victim (%d) with cleanOnly", victim)
		}
		return freed
	}
	// Every page referenced: the first sweep takes the references, the
	// second drops page 0, in the lowest frame, with both mappings.
	if n := reclaim(1); n != 1 {
		t.Fatalf("reclaimed %d pages, want 1", n)
	}
	if mapped(a, 0) || mapped(b, 0) {
		t.Fatal("page 0 dropped but still mapped")
	}
	e.check(t)
	// Page 1 written through b, page 2 read through a: page 1 must stay
	// (its idle mapping in a may go), page 2 gets a second chance and
	// goes with page 3 in the second sweep.
	if err := e.store(page(b, 1)+9, []byte{0xee}); err != nil {
		t.Fatal(err)
	}
	if err := e.load(page(a, 2), one); err != nil {
		t.Fatal(err)
	}
	if n := reclaim(3); n != 2 {
		t.Fatalf("reclaimed %d pages, want 2 (pages 2 and 3)", n)
	}
	if !mapped(b, 1) || mapped(a, 2) || mapped(b, 3) {
		t.Fatal("wrong mappings left")
	}
	k.mu.Lock()
	i := k.pool.lookup(a.o.id, 1)
	dirty := i >= 0 && k.pool.frames[i].flags&pgDirty != 0
	k.mu.Unlock()
	if !dirty {
		t.Fatal("page 1, written through its second mapping, is not resident and dirty")
	}
	e.check(t)
	for _, r := range []*Region{a, b} {
		if err := e.load(page(r, 1)+9, one); err != nil || one[0] != 0xee {
			t.Fatalf("page 1 reads %#x (%v), want the write", one[0], err)
		}
		for _, i := range []int{0, 2, 3} {
			if err := e.load(page(r, i), one); err != nil || one[0] != byte(i+1) {
				t.Fatalf("page %d reads %d (%v) after its drop", i, one[0], err)
			}
		}
	}
	if s := k.Stats(); s.CleanDrops != 3 || s.PageOuts != 0 {
		t.Fatalf("stats %+v: want 3 clean drops, no page-out", s)
	}
	e.check(t)
}
