package coherence

import (
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/moremote"
	"github.com/tamach/tamach/mo/motest"
	"github.com/tamach/tamach/vm"
	"github.com/tamach/tamach/vm/vmtest"
)

// newKernel is a host vm kernel of page size ps.
func newKernel(t testing.TB, ps uint32, frames int) *vm.Kernel {
	return vmtest.NewKernel(t, vmtest.Config{PageSize: ps, Frames: frames})
}

const objSize = 256 << 10

// setup starts a coherence pager exported by a moremote server on a
// loopback port, and two kernels (4 KiB and 64 KiB pages) that map its
// object through moremote clients.
func setup(t *testing.T, timeout time.Duration) (*Pager, [2]*vm.Region, [2]*moremote.Client) {
	t.Helper()
	srv := moremote.NewServer()
	p, err := New(Config{Size: objSize, Timeout: timeout, Evicted: func(ctl mo.Control) { srv.Drop(ctl) }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Export(1, p)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { srv.Serve(l); close(served) }()
	var regions [2]*vm.Region
	var clients [2]*moremote.Client
	for i, ps := range []uint32{4 << 10, 64 << 10} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		cl := moremote.NewClient(c)
		clients[i] = cl
		k := newKernel(t, ps, int(2*objSize/ps))
		r, err := k.Map(cl.Object(1), objSize, 0, objSize, vm.MapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		regions[i] = r
		t.Cleanup(cl.Close)
	}
	t.Cleanup(func() { l.Close(); srv.Close(); <-served })
	return p, regions, clients
}

// word is a 32-bit word of the shared object, reached through one
// kernel's region: each load or store is one ReadAt or WriteAt, which vm
// carries out on a page it holds for the access (data_request,
// data_unlock), atomically with respect to lock_requests.
type word struct {
	r   *vm.Region
	off int64
}

func (w word) load(t *testing.T) uint32 {
	var b [4]byte
	if _, err := w.r.ReadAt(b[:], w.off); err != nil {
		t.Error(err)
		runtime.Goexit()
	}
	return binary.LittleEndian.Uint32(b[:])
}

func (w word) store(t *testing.T, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	if _, err := w.r.WriteAt(b[:], w.off); err != nil {
		t.Error(err)
		runtime.Goexit()
	}
}

// Layout of the shared object: Peterson's lock in the first granule, the
// counters in the second and fourth.
const (
	offFlag0   = 0
	offFlag1   = 4
	offTurn    = 8
	offCounter = 64 << 10
	offOther   = 192<<10 + 4092
)

// peterson takes and gives up the lock for kernel i of two. Peterson's
// algorithm needs only loads and stores of words that are sequentially
// consistent, which single-writer/multi-reader coherence gives: a store
// completes only once no other kernel holds a copy of its granule.
type peterson struct {
	flag [2]word
	turn word
}

func (l *peterson) lock(t *testing.T, i int) {
	j := 1 - i
	l.flag[i].store(t, 1)
	l.turn.store(t, uint32(j))
	// Spinning is cheap (the words are resident read copies) while the
	// holder's critical section moves granules over the network, so the
	// bound is a generous time, not a count.
	deadline := time.Now().Add(30 * time.Second)
	for l.flag[j].load(t) == 1 && l.turn.load(t) == uint32(j) {
		if time.Now().After(deadline) {
			t.Error("lock not taken in 30 s")
			runtime.Goexit()
		}
		runtime.Gosched()
	}
}

func (l *peterson) unlock(t *testing.T, i int) { l.flag[i].store(t, 0) }

// TestTwoKernelsCountUnderASharedLock: two vm kernels, of 4 KiB and of
// 64 KiB pages, map one object of the coherence pager through moremote
// over loopback TCP, and each adds to two counters (in the second and
// the fourth granule) under Peterson's lock kept in the first. The final counts are
// exactly the number of increments, seen from both kernels and in the
// pager's copy.
func TestTwoKernelsCountUnderASharedLock(t *testing.T) {
	const rounds = 40
	p, regions, _ := setup(t, 10*time.Second)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := regions[i]
			l := &peterson{flag: [2]word{{r, offFlag0}, {r, offFlag1}}, turn: word{r, offTurn}}
			c, o := word{r, offCounter}, word{r, offOther}
			for n := 0; n < rounds; n++ {
				l.lock(t, i)
				c.store(t, c.load(t)+1)
				o.store(t, o.load(t)+uint32(i+1))
				l.unlock(t, i)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, r := range regions {
		if c, o := (word{r, offCounter}).load(t), (word{r, offOther}).load(t); c != 2*rounds || o != 3*rounds {
			t.Fatalf("kernel %d sees counters %d and %d, want %d and %d", i, c, o, 2*rounds, 3*rounds)
		}
	}
	// Make the writer return its pages: a read from the other kernel
	// cleans it; then the pager's copy holds the sums.
	if err := regions[0].Sync(0, objSize); err != nil {
		t.Fatal(err)
	}
	if err := regions[1].Sync(0, objSize); err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	p.Read(b[:], offCounter)
	if v := binary.LittleEndian.Uint32(b[:]); v != 2*rounds {
		t.Fatalf("the pager's copy of the counter: %d, want %d", v, 2*rounds)
	}
	s := p.Stats()
	if s.Downgrades == 0 || s.Flushes == 0 || s.Unlocks == 0 || s.Evictions != 0 {
		t.Fatalf("stats %+v: want downgrades, flushes and unlocks, no eviction", s)
	}
	t.Logf("pager: %+v", s)
}

// TestVanishedKernelIsEvicted: the 64 KiB kernel writes the counter and
// syncs it, then hangs (its connection stays open, nothing is read). The
// 4 KiB kernel's access needs that kernel to give the granule up; its
// lock_request is never answered, so after the timeout the pager evicts
// it and the 4 KiB kernel carries on with the synced value.
func TestVanishedKernelIsEvicted(t *testing.T) {
	p, regions, clients := setup(t, 300*time.Millisecond)
	a, b := regions[0], regions[1]
	(word{b, offCounter}).store(t, 41)
	if err := b.Sync(0, objSize); err != nil {
		t.Fatal(err)
	}
	clients[1].Stall()
	c := word{a, offCounter}
	if v := c.load(t); v != 41 {
		t.Fatalf("after the eviction the counter reads %d, want 41", v)
	}
	c.store(t, c.load(t)+1)
	if v := c.load(t); v != 42 {
		t.Fatalf("counter %d, want 42", v)
	}
	if s := p.Stats(); s.Evictions != 1 {
		t.Fatalf("stats %+v: want one eviction", s)
	}
}

// TestLifecycleRules: the calls of a kernel that never sent init, a
// second init, and the calls after terminate are refused as the mo
// package says (mo.Kernels), without an answer.
func TestLifecycleRules(t *testing.T) {
	p, err := New(Config{Size: objSize})
	if err != nil {
		t.Fatal(err)
	}
	ctl, stranger := motest.NewFrameControl(4<<10, nil), motest.NewFrameControl(4<<10, nil)
	want := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", what, err, want)
		}
	}
	if err := p.Init(0, ctl, 4<<10); err != nil {
		t.Fatal(err)
	}
	want("second init", p.Init(1, ctl, 4<<10), mo.KernInvalidArgument)
	want("data_request from a control that never sent init", p.DataRequest(1, stranger, 0, 4<<10, mo.ProtRead), mo.KernInvalidArgument)
	want("data_request", p.DataRequest(2, ctl, 0, 4<<10, mo.ProtRead), nil)
	want("terminate", p.Terminate(3, ctl), nil)
	want("data_request after terminate", p.DataRequest(4, ctl, 0, 4<<10, mo.ProtRead), mo.KernTerminated)
	want("terminate after terminate", p.Terminate(4, ctl), mo.KernTerminated)
	want("init after terminate", p.Init(0, ctl, 4<<10), mo.KernTerminated)
	if ctl.Supplies != 1 || stranger.Supplies != 0 {
		t.Errorf("%d and %d supplies, want 1 and 0", ctl.Supplies, stranger.Supplies)
	}
}
