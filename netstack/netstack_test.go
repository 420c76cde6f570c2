package netstack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"
)

var (
	addrA = netip.MustParsePrefix("10.0.2.15/24")
	addrB = netip.MustParsePrefix("10.0.2.100/24")
)

// twoStacks joins two stacks by a wire: A at 10.0.2.15, B at 10.0.2.100.
func twoStacks(t testing.TB, drop func(n uint64) bool) (a, b *Stack, na, nb *wireNIC) {
	t.Helper()
	na, nb = newWire(drop)
	var err error
	if a, err = New(na, Config{Address: addrA, Gateway: netip.MustParseAddr("10.0.2.2")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if b, err = New(nb, Config{Address: addrB}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return a, b, na, nb
}

// echo serves one connection of l: it sends back every byte it reads.
func echo(t testing.TB, l net.Listener) {
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
}

// roundTrip sends size random bytes through an echoing peer and checks
// that the same bytes come back.
func roundTrip(t *testing.T, c net.Conn, size int) {
	t.Helper()
	want := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range want {
		want[i] = byte(r.Uint32())
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(want)
		errc <- err
	}()
	got := make([]byte, size)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writing: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the echoed bytes differ from the bytes sent")
	}
}

// echoRoundTrip has B echo on port 7 and A connect to it within limit
// and send n bytes through it, checking they come back whole.
func echoRoundTrip(t *testing.T, a, b *Stack, limit time.Duration, n int) {
	t.Helper()
	l, err := b.ListenTCP(7)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	echo(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c, err := a.DialTCP(ctx, netip.AddrPortFrom(addrB.Addr(), 7))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, n)
}

// TestTCPOverTheEndpoint: a connection between two stacks over the
// in-memory wire carries 1 MiB both ways, byte for byte; the endpoints
// resolved each other with ARP and counted the frames.
func TestTCPOverTheEndpoint(t *testing.T) {
	a, b, _, _ := twoStacks(t, nil)
	echoRoundTrip(t, a, b, 10*time.Second, 1<<20)
	sa, sb := a.Stats(), b.Stats()
	if sa.Dials != 1 || sa.DialTime <= 0 {
		t.Errorf("dials %d in %v, want 1 in a positive time", sa.Dials, sa.DialTime)
	}
	if sa.Link.FramesOut < (1<<20)/MTU || sb.Link.FramesIn < (1<<20)/MTU {
		t.Errorf("frames out of A %d, into B %d: fewer than 1 MiB needs", sa.Link.FramesOut, sb.Link.FramesIn)
	}
	if sa.Link.DroppedIn+sa.Link.DroppedOut+sb.Link.DroppedIn+sb.Link.DroppedOut != 0 {
		t.Errorf("frames dropped: A %+v, B %+v", sa.Link, sb.Link)
	}
	if sa.RxTime <= 0 || sa.TxTime <= 0 {
		t.Errorf("time in the stack: receive %v, transmit %v, want both positive", sa.RxTime, sa.TxTime)
	}
}

// TestLossyWire: with every 7th frame lost, TCP retransmits and the bytes
// still arrive whole.
func TestLossyWire(t *testing.T) {
	a, b, na, _ := twoStacks(t, func(n uint64) bool { return n%7 == 0 })
	echoRoundTrip(t, a, b, 20*time.Second, 128<<10)
	na.mu.Lock()
	lost := na.lost
	na.mu.Unlock()
	if lost == 0 {
		t.Fatal("the wire lost nothing: the test did not test retransmission")
	}
}

// TestBadFramesAreDropped: a runt, an oversized frame and a frame for an
// unknown protocol are counted or ignored, never delivered as data, and
// the stack goes on working.
func TestBadFramesAreDropped(t *testing.T) {
	a, b, na, _ := twoStacks(t, nil)
	before := a.Stats().Link.DroppedIn
	na.inject([]byte{1, 2, 3})
	na.inject(make([]byte, MaxFrameSize+1))
	unknown := make([]byte, 64)
	copy(unknown, na.mac)
	unknown[12], unknown[13] = 0x88, 0xb5 // a local experimental EtherType
	na.inject(unknown)
	deadline := time.Now().Add(10 * time.Second)
	for na.taken.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := a.Stats().Link.DroppedIn - before; got != 2 {
		t.Errorf("dropped %d frames, want 2 (the runt and the oversized one)", got)
	}
	l, err := b.ListenTCP(9)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	echo(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialTCP(ctx, netip.AddrPortFrom(addrB.Addr(), 9))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, 4096)
}

// TestFramesBeforeAttachAreDropped: an endpoint without a stack drops
// what it receives.
func TestFramesBeforeAttachAreDropped(t *testing.T) {
	na, _ := newWire(nil)
	ep := NewEndpoint(na)
	na.inject(make([]byte, 60))
	if !ep.Poll() {
		t.Fatal("Poll found no frame")
	}
	if ep.Poll() {
		t.Fatal("Poll found a second frame")
	}
	if s := ep.Stats(); s.DroppedIn != 1 || s.FramesIn != 0 {
		t.Fatalf("stats %+v, want one frame dropped", s)
	}
}

// TestDialNobody: a connection to a port nobody listens on is refused,
// and one to an address nobody answers times out with the context.
func TestDialNobody(t *testing.T) {
	a, _, _, _ := twoStacks(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := a.DialTCP(ctx, netip.AddrPortFrom(addrB.Addr(), 1)); err == nil {
		c.Close()
		t.Fatal("a dial to a closed port succeeded")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if c, err := a.DialTCP(ctx2, netip.MustParseAddrPort("10.0.2.77:1")); err == nil {
		c.Close()
		t.Fatal("a dial to an absent host succeeded")
	}
	if _, err := a.DialTCP(ctx, netip.MustParseAddrPort("[::1]:1")); err == nil {
		t.Fatal("an IPv6 dial succeeded")
	}
}

// TestBadConfig: New refuses what it cannot set up.
func TestBadConfig(t *testing.T) {
	na, _ := newWire(nil)
	for _, cfg := range []Config{
		{},
		{Address: netip.MustParsePrefix("fe80::1/64")},
		{Address: addrA, Gateway: netip.MustParseAddr("192.168.0.1")},
	} {
		if s, err := New(na, cfg); !errors.Is(err, ErrConfig) {
			if s != nil {
				s.Close()
			}
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	multicast := &wireNIC{mac: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1}, in: make(chan []byte, 1)}
	if _, err := New(multicast, QEMUConfig()); !errors.Is(err, ErrConfig) {
		t.Errorf("New with a multicast MAC = %v, want ErrConfig", err)
	}
}
