package nbd

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tamach/tamach/pager/store"
)

const ps = 4 << 10

func page(slot uint64, round byte) []byte {
	p := make([]byte, ps)
	for i := range p {
		p[i] = byte(slot*7) ^ byte(i) ^ byte(i>>8)*3 ^ round
	}
	return p
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestQemuNBDPagesRoundTrip: pages written through qemu-nbd read back
// equal, land at slot*PageSize of the image, and Sync and Trim are
// answered; the export's size gives the slots.
func TestQemuNBDPagesRoundTrip(t *testing.T) {
	srv := startQemuNBD(t, 64*ps)
	c := newClient(t, Config{Dial: srv.Dial, Export: srv.Export})
	if c.Pages() != 64 || c.PageSize() != ps {
		t.Fatalf("pages %d of %d bytes, want 64 of %d", c.Pages(), c.PageSize(), ps)
	}
	for _, slot := range []uint64{0, 1, 17, 63} {
		if err := c.WritePage(slot, page(slot, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, ps)
	for _, slot := range []uint64{0, 1, 17, 63} {
		if err := c.ReadPage(slot, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, page(slot, 1)) {
			t.Fatalf("slot %d read back different", slot)
		}
	}
	img, err := os.ReadFile(srv.Image)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[17*ps:18*ps], page(17, 1)) {
		t.Fatal("slot 17 is not at 17*PageSize in the image")
	}
	if err := c.Trim(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.ReadPage(64, got); !errors.Is(err, store.ErrRange) {
		t.Fatalf("slot 64 of 64: %v, want ErrRange", err)
	}
	if s := c.Stats(); s.Writes != 4 || s.Reads != 4 || s.Flushes != 1 || s.Trims != 1 || s.Lost != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestQemuNBDUnknownExportIsRefused: a name the server does not export
// is ErrRefused, reported by New.
func TestQemuNBDUnknownExportIsRefused(t *testing.T) {
	srv := startQemuNBD(t, 16*ps)
	_, err := New(Config{Dial: srv.Dial, Export: "nosuch"})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("export nosuch: %v, want ErrRefused", err)
	}
}

// TestReconnectAfterServerKilled: the server is killed between calls and
// while the client is reconnecting; it is started again only after the
// client saw a dial fail. Reads and writes then complete, with the data
// written before the kill.
func TestReconnectAfterServerKilled(t *testing.T) {
	srv := startQemuNBD(t, 32*ps)
	dialFailed := make(chan struct{}, 1)
	c := newClient(t, Config{Dial: srv.Dial, Export: srv.Export, Event: func(e Event) {
		if e == EventDialFailed {
			select {
			case dialFailed <- struct{}{}:
			default:
			}
		}
	}})
	for round := byte(1); round <= 3; round++ {
		if err := c.WritePage(uint64(round), page(uint64(round), round)); err != nil {
			t.Fatal(err)
		}
		srv.Kill()
		restarted := make(chan struct{})
		go func() {
			defer close(restarted)
			select {
			case <-dialFailed:
				srv.Start()
			case <-time.After(20 * time.Second):
				t.Error("the client never tried to reconnect")
				srv.Start()
			}
		}()
		got := make([]byte, ps)
		if err := c.ReadPage(uint64(round), got); err != nil {
			t.Fatalf("round %d: read after the restart: %v", round, err)
		}
		<-restarted
		if !bytes.Equal(got, page(uint64(round), round)) {
			t.Fatalf("round %d: the page written before the kill read back different", round)
		}
	}
	if s := c.Stats(); s.Reconnects != 3 || s.Lost != 3 || s.DialFailures < 3 || s.Retries != 3 {
		t.Fatalf("stats %+v: want 3 losses, 3 reconnects, 3 retries, a dial failure each", s)
	}
}

// TestRetriesRunOut: with the server gone for good, a call fails with
// store.ErrIO once RetryFor has passed, and the client keeps trying on
// the next call.
func TestRetriesRunOut(t *testing.T) {
	srv := startQemuNBD(t, 8*ps)
	c := newClient(t, Config{Dial: srv.Dial, Export: srv.Export, RetryFor: 100 * time.Millisecond})
	srv.Kill()
	if err := c.WritePage(0, page(0, 1)); !errors.Is(err, store.ErrIO) {
		t.Fatalf("write with the server gone: %v, want store.ErrIO", err)
	}
	if err := c.ReadPage(0, make([]byte, ps)); !errors.Is(err, store.ErrIO) {
		t.Fatalf("read with the server gone: %v, want store.ErrIO", err)
	}
	srv.Start()
	if err := c.WritePage(0, page(0, 2)); err != nil {
		t.Fatalf("write after the server came back: %v", err)
	}
}

// TestFakeServerBadInput: every way the fake server breaks a reply gives
// a clear error wrapping store.ErrIO, not a panic and not wrong data; the
// next call works on a new connection (or the same, after an error
// reply), and the page written earlier is intact.
func TestFakeServerBadInput(t *testing.T) {
	for _, tc := range []struct {
		fault   string
		cmd     uint16
		want    error
		newConn bool
	}{
		{"errno", cmdRead, &ServerError{}, false},
		{"errno", cmdWrite, &ServerError{}, false},
		{"errno", cmdFlush, &ServerError{}, false},
		{"handle", cmdRead, ErrProtocol, true},
		{"magic", cmdWrite, ErrProtocol, true},
		{"structured", cmdRead, ErrProtocol, true},
		{"extra", cmdRead, ErrProtocol, true},
		{"extra", cmdWrite, ErrProtocol, true},
	} {
		t.Run(tc.fault+"-"+cmdName(tc.cmd), func(t *testing.T) {
			srv := newFakeServer(t, 8*ps)
			c := newClient(t, Config{Dial: srv.Dial})
			if err := c.WritePage(2, page(2, 1)); err != nil {
				t.Fatal(err)
			}
			srv.set(func(s *fakeServer) { s.fault, s.faultCmd, s.faultN = tc.fault, tc.cmd, 1 })
			var err error
			buf := make([]byte, ps)
			switch tc.cmd {
			case cmdRead:
				err = c.ReadPage(2, buf)
			case cmdWrite:
				err = c.WritePage(3, page(3, 1))
			case cmdFlush:
				err = c.Sync()
			}
			if !errors.Is(err, store.ErrIO) {
				t.Fatalf("error %v does not wrap store.ErrIO", err)
			}
			var se *ServerError
			if _, isSE := tc.want.(*ServerError); isSE && !errors.As(err, &se) || !isSE && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %T %v", err, tc.want, tc.want)
			}
			if err := c.ReadPage(2, buf); err != nil || !bytes.Equal(buf, page(2, 1)) {
				t.Fatalf("read after the fault: %v, data right %v", err, bytes.Equal(buf, page(2, 1)))
			}
			srv.mu.Lock()
			conns := srv.conns
			srv.mu.Unlock()
			if want := map[bool]int{false: 1, true: 2}[tc.newConn]; conns != want {
				t.Fatalf("%d connections, want %d", conns, want)
			}
		})
	}
}

// TestFakeServerClosesMidReply: a server that closes the connection
// half-way through a read's data gets the read again on a new connection,
// and the data is whole.
func TestFakeServerClosesMidReply(t *testing.T) {
	srv := newFakeServer(t, 8*ps)
	c := newClient(t, Config{Dial: srv.Dial})
	if err := c.WritePage(5, page(5, 9)); err != nil {
		t.Fatal(err)
	}
	srv.set(func(s *fakeServer) { s.fault, s.faultCmd, s.faultN = "close", cmdRead, 2 })
	buf := make([]byte, ps)
	if err := c.ReadPage(5, buf); err != nil || !bytes.Equal(buf, page(5, 9)) {
		t.Fatalf("read: %v, data right %v", err, bytes.Equal(buf, page(5, 9)))
	}
	if s := c.Stats(); s.Lost != 2 || s.Retries != 2 {
		t.Fatalf("stats %+v: want 2 connections lost and 2 retries", s)
	}
}

// TestFakeServerRefusals: an export refused with NBD_REP_ERR_UNKNOWN, a
// read-only export, a greeting that is not fixed newstyle, and ENOSPC on
// a write (store.ErrFull).
func TestFakeServerRefusals(t *testing.T) {
	srv := newFakeServer(t, 8*ps)
	srv.set(func(s *fakeServer) { s.refuse = repErrUnk })
	if _, err := New(Config{Dial: srv.Dial, Export: "x"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("refused export: %v", err)
	}
	srv.set(func(s *fakeServer) { s.refuse, s.flags = 0, tfHasFlags|tfReadOnly })
	if _, err := New(Config{Dial: srv.Dial}); !errors.Is(err, ErrRefused) {
		t.Fatalf("read-only export: %v", err)
	}
	srv.set(func(s *fakeServer) { s.greeting = []byte("SSH-2.0-OpenSSH_9.2\r\n\x00\x00\x00") })
	if _, err := New(Config{Dial: srv.Dial}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad greeting: %v", err)
	}
	srv.set(func(s *fakeServer) { s.greeting, s.flags, s.writeErr = nil, tfHasFlags|tfSendFlush, 28 })
	c := newClient(t, Config{Dial: srv.Dial})
	if err := c.WritePage(0, page(0, 0)); !errors.Is(err, store.ErrFull) {
		t.Fatalf("ENOSPC: %v, want store.ErrFull", err)
	}
}

// TestFlushAfterWriteWithoutFUA: an export that offers flush but not FUA
// gets a flush after every write, so WritePage returns only when the page
// is stable; with NoFUA, a connection lost while writes were unflushed
// makes the next Sync fail.
func TestFlushAfterWriteWithoutFUA(t *testing.T) {
	srv := newFakeServer(t, 8*ps)
	srv.set(func(s *fakeServer) { s.flags = tfHasFlags | tfSendFlush })
	c := newClient(t, Config{Dial: srv.Dial})
	for i := uint64(0); i < 3; i++ {
		if err := c.WritePage(i, page(i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	srv.mu.Lock()
	w, f := srv.writes, srv.flushes
	srv.mu.Unlock()
	if w != 3 || f != 3 {
		t.Fatalf("%d writes, %d flushes; want a flush after each of 3 writes", w, f)
	}

	nf := newClient(t, Config{Dial: srv.Dial, NoFUA: true})
	if err := nf.WritePage(1, page(1, 2)); err != nil {
		t.Fatal(err)
	}
	srv.set(func(s *fakeServer) { s.fault, s.faultCmd, s.faultN = "close", cmdRead, 1 })
	if err := nf.ReadPage(1, make([]byte, ps)); err != nil {
		t.Fatal(err)
	}
	if err := nf.Sync(); !errors.Is(err, store.ErrIO) {
		t.Fatalf("sync after a lost connection with unflushed writes: %v, want store.ErrIO", err)
	}
	if err := nf.Sync(); err != nil {
		t.Fatalf("the next sync: %v", err)
	}
}
