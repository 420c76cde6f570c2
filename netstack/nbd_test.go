package netstack

import (
	"bytes"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tamach/tamach/internal/nbdtest"
	"github.com/tamach/tamach/pager/nbd"
)

// proxy serves every connection of l by relaying it to the host address
// addr: stack B plays QEMU's guestfwd.
func proxy(l net.Listener, addr func() string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			h, err := net.Dial("tcp", addr())
			if err != nil {
				return
			}
			defer h.Close()
			go func() { io.Copy(h, c); h.(*net.TCPConn).CloseWrite() }()
			io.Copy(c, h)
		}()
	}
}

// TestNBDOverTheStack: pager/nbd's client, dialing through the stack
// (Stack.Dialer as nbd.Config.Dial), writes and reads pages of a real
// qemu-nbd; the server is killed and restarted between two writes, and
// the client reconnects through the stack with nothing lost.
func TestNBDOverTheStack(t *testing.T) {
	const ps, pages = 4096, 64
	srv := nbdtest.StartQemuNBD(t, ps*pages)
	a, b, _, _ := twoStacks(t, nil)
	l, err := b.ListenTCP(10809)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go proxy(l, srv.Addr)
	c, err := nbd.New(nbd.Config{Dial: a.Dialer(netip.AddrPortFrom(addrB.Addr(), 10809)), Export: srv.Export,
		PageSize: ps, RetryFor: 20 * time.Second, BackoffMin: 5 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	page := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8), 0xa5, byte(i * 7)}, ps/4) }
	for i := 0; i < pages; i++ {
		if i == pages/2 {
			srv.Kill()
			restarted := make(chan struct{})
			go func() { time.Sleep(50 * time.Millisecond); srv.Start(); close(restarted) }()
			defer func() { <-restarted }()
		}
		if err := c.WritePage(uint64(i), page(i)); err != nil {
			t.Fatalf("writing page %d: %v", i, err)
		}
	}
	got := make([]byte, ps)
	for i := 0; i < pages; i++ {
		if err := c.ReadPage(uint64(i), got); err != nil {
			t.Fatalf("reading page %d: %v", i, err)
		}
		if !bytes.Equal(got, page(i)) {
			t.Fatalf("page %d read back wrong", i)
		}
	}
	if s := c.Stats(); s.Reconnects == 0 {
		t.Errorf("client stats %+v: no reconnection, the restart was not tested", s)
	}
	if d := a.Stats().Dials; d < 2 {
		t.Errorf("%d dials through the stack, want at least 2", d)
	}
}
