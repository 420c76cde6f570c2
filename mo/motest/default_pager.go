package motest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
)

// DefaultPagerConfig describes a default pager to TestDefaultPager.
type DefaultPagerConfig struct {
	// New returns a fresh default pager with no backing store, and its
	// store management interface (nil for a pager without stores; then
	// only CreateActsAsInit applies).
	New func() (mo.DefaultPager, mo.BackingStores, error)
	// AddSpace gives a store room for pages more pages of PageSize
	// (default_pager_add_segment, whatever the device).
	AddSpace func(id mo.BackingStoreID, pages uint64) error
	// PageSize is a page size the pager takes in Create.
	PageSize mo.Size
	// DeleteUnsupported says the pager does not support deleting stores
	// and answers KERN_FAILURE.
	DeleteUnsupported bool
	// Timeout bounds each wait; zero means 5 seconds.
	Timeout time.Duration
	// Trace, if set, records the calls.
	Trace *mo.Trace
}

type defaultScenario struct {
	name string
	fn   func(p *pagerRun, d mo.DefaultPager, bs mo.BackingStores, cfg DefaultPagerConfig)
}

// DefaultPagerScenarios returns the names of the default-pager scenarios.
func DefaultPagerScenarios() []string {
	var names []string
	for _, s := range defaultScenarios {
		names = append(names, s.name)
	}
	return names
}

// TestDefaultPager runs every default-pager scenario against cfg.
func TestDefaultPager(t *testing.T, cfg DefaultPagerConfig) {
	t.Helper()
	for _, s := range defaultScenarios {
		t.Run(s.name, func(t *testing.T) {
			if err := RunDefaultPagerScenario(cfg, s.name); err != nil {
				t.Error(err)
			}
		})
	}
}

const defaultObjectSize = 64 << 10

// RunDefaultPagerScenario runs one named default-pager scenario and returns
// its first violation, or nil.
func RunDefaultPagerScenario(cfg DefaultPagerConfig, name string) error {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if mo.CheckPageSize(cfg.PageSize) != nil || cfg.PageSize > defaultObjectSize/8 {
		return mo.KernInvalidArgument
	}
	for _, s := range defaultScenarios {
		if s.name != name {
			continue
		}
		d, bs, err := cfg.New()
		if err != nil {
			return err
		}
		p := &pagerRun{run: &run{scenario: name, timeout: cfg.Timeout, trace: cfg.Trace},
			cfg: PagerConfig{Size: defaultObjectSize}, expect: make([]byte, defaultObjectSize)}
		return p.do(func() { s.fn(p, d, bs, cfg); p.check() })
	}
	return mo.KernInvalidArgument
}

// create makes an object through Create and waits for Ready.
func (p *pagerRun) create(d mo.DefaultPager, ps mo.Size) *KernelControl {
	p.ids++
	k := newKernelControl(p.run, p.ids, nil, ps, defaultObjectSize)
	k.state = ctlLive
	k.next = 1 // Create is seqno 0
	obj, err := d.Create(k, defaultObjectSize, ps)
	if err != nil {
		p.fail(RuleCreateActsAsInit, "create refused: %v", err)
	}
	k.obj = obj
	p.obj = obj
	k.waitFor(RuleCreateActsAsInit, "ready after create", func() bool { return k.ready })
	return k
}

// initialize sends DataInitialize with a buffer poisoned afterwards.
func (p *pagerRun) initialize(k *KernelControl, off mo.Offset, data []byte) {
	obj := k.obj.(mo.DefaultObject)
	buf := append([]byte(nil), data...)
	err := k.call(mo.OpDataInitialize, off, mo.Size(len(data)), func(s mo.Seqno) error { return obj.DataInitialize(s, k, off, buf) })
	for i := range buf {
		buf[i] = Poison
	}
	if err != nil {
		p.fail(RuleCreateActsAsInit, "data_initialize of %#x refused: %v", off, err)
	}
	copy(p.expect[off:], data)
}

func storeInfo(p *pagerRun, bs mo.BackingStores, id mo.BackingStoreID) mo.BackingStoreInfo {
	info, err := bs.BackingStoreInfo(id)
	if err != nil {
		p.fail(RuleBackingStoreDelete, "backing_store_info of store %d: %v", id, err)
	}
	return info
}

var defaultScenarios = []defaultScenario{
	{"CreateActsAsInit", func(p *pagerRun, d mo.DefaultPager, bs mo.BackingStores, cfg DefaultPagerConfig) {
		for _, bad := range []struct {
			size, ps mo.Size
		}{{defaultObjectSize, 3000}, {0, cfg.PageSize}, {cfg.PageSize + 1, cfg.PageSize}} {
			ctl := newKernelControl(p.run, 99, nil, cfg.PageSize, defaultObjectSize)
			if _, err := d.Create(ctl, bad.size, bad.ps); !errors.Is(err, mo.KernInvalidArgument) {
				p.fail(RuleBadInputRefused, "create of size %#x page size %#x: got %v, want KERN_INVALID_ARGUMENT", bad.size, bad.ps, err)
			}
		}
		if bs != nil {
			id, err := bs.BackingStoreCreate(0, 0)
			if err != nil {
				p.fail(RuleBackingStoreDelete, "backing_store_create: %v", err)
			}
			if err := cfg.AddSpace(id, 16); err != nil {
				p.fail(RuleBackingStoreDelete, "adding space: %v", err)
			}
		}
		ps := cfg.PageSize
		k := p.create(d, ps)
		p.fetch(k, 0, 2*ps)
		p.initialize(k, mo.Offset(ps), pattern(int(ps), 0x81))
		p.initialize(k, mo.Offset(3*ps), pattern(int(ps), 0x83))
		p.evict(k, 0)
		p.evict(k, mo.Offset(ps))
		p.fetch(k, 0, 4*ps)
		p.write(k, mo.Offset(2*ps), 0x82)
		p.evict(k, mo.Offset(2*ps))
		p.fetch(k, mo.Offset(2*ps), ps)
		if err := k.Terminate(); err != nil {
			p.fail(RuleNoCallAfterTerminate, "terminate refused: %v", err)
		}
		p.quiesce()
	}},
	{"BackingStoreDeleteReturnCodes", func(p *pagerRun, d mo.DefaultPager, bs mo.BackingStores, cfg DefaultPagerConfig) {
		ps := cfg.PageSize
		if err := bs.BackingStoreDelete(12345); !errors.Is(err, mo.KernInvalidArgument) {
			p.fail(RuleBackingStoreDelete, "deleting a store that does not exist: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		s1, err := bs.BackingStoreCreate(1, 0)
		if err != nil {
			p.fail(RuleBackingStoreDelete, "backing_store_create: %v", err)
		}
		if err := cfg.AddSpace(s1, 4); err != nil {
			p.fail(RuleBackingStoreDelete, "adding space: %v", err)
		}
		k := p.create(d, ps)
		for i := 0; i < 3; i++ {
			p.initialize(k, mo.Offset(i)*mo.Offset(ps), pattern(int(ps), byte(0x90+i)))
		}
		if cfg.DeleteUnsupported {
			if err := bs.BackingStoreDelete(s1); !errors.Is(err, mo.KernFailure) {
				p.fail(RuleBackingStoreDelete, "a pager that cannot delete stores: got %v, want KERN_FAILURE", err)
			}
			p.fetch(k, 0, 3*ps)
			return
		}
		s2, _ := bs.BackingStoreCreate(1, 0)
		if err := cfg.AddSpace(s2, 2); err != nil {
			p.fail(RuleBackingStoreDelete, "adding space: %v", err)
		}
		before1, before2 := storeInfo(p, bs, s1), storeInfo(p, bs, s2)
		if before1.FreePages != 1 || before2.FreePages != 2 {
			p.fail(RuleBackingStoreDelete, "three pages written with one store: free pages %d and %d, want 1 and 2", before1.FreePages, before2.FreePages)
		}
		// Three pages cannot move into two free slots.
		if err := bs.BackingStoreDelete(s1); !errors.Is(err, mo.KernInvalidArgument) {
			p.fail(RuleBackingStoreDelete, "deleting a store whose pages cannot move: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		if a1, a2 := storeInfo(p, bs, s1), storeInfo(p, bs, s2); a1 != before1 || a2 != before2 {
			p.fail(RuleBackingStoreDelete, "a refused delete moved pages: %+v %+v, before %+v %+v", a1, a2, before1, before2)
		}
		p.fetch(k, 0, 4*ps)
		s3, _ := bs.BackingStoreCreate(0, 0)
		if err := cfg.AddSpace(s3, 2); err != nil {
			p.fail(RuleBackingStoreDelete, "adding space: %v", err)
		}
		if err := bs.BackingStoreDelete(s1); err != nil {
			p.fail(RuleBackingStoreDelete, "deleting a store whose pages can move: got %v, want KERN_SUCCESS", err)
		}
		if _, err := bs.BackingStoreInfo(s1); !errors.Is(err, mo.KernInvalidArgument) {
			p.fail(RuleBackingStoreDelete, "info of a deleted store: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		if err := bs.BackingStoreDelete(s1); !errors.Is(err, mo.KernInvalidArgument) {
			p.fail(RuleBackingStoreDelete, "deleting a store twice: got %v, want KERN_INVALID_ARGUMENT", err)
		}
		if f := storeInfo(p, bs, s2).FreePages + storeInfo(p, bs, s3).FreePages; f != 1 {
			p.fail(RuleBackingStoreDelete, "after moving three pages into four slots, %d free, want 1", f)
		}
		// Every byte reads back.
		for off := mo.Offset(0); off < 4*mo.Offset(ps); off += mo.Offset(ps) {
			p.evict(k, off)
		}
		p.fetch(k, 0, 4*ps)
		if !bytes.Equal(p.expect[:ps], pattern(int(ps), 0x90)) {
			p.fail(RuleBackingStoreDelete, "scenario model lost its data")
		}
	}},
}
