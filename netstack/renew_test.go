package netstack

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
)

// Lease times of the renewal tests are in milliseconds: the test server's
// seconds stand for milliseconds (RenewOptions.unit).

// shortLease is a lease of the QEMU-like server that began now.
func shortLease(lease, t1, t2 time.Duration) Lease {
	return Lease{Address: QEMUGuest, Gateway: QEMUGateway, Server: QEMUGateway,
		LeaseTime: lease, Renewal: t1, Rebinding: t2, Start: time.Now()}
}

// keepLease makes a stack on one end of a wire with l's configuration, a
// DHCP server of servers on the other, and keeps l.
func keepLease(t *testing.T, l Lease, servers ...*testServer) (*Stack, <-chan LeaseEvent, *dhcpNet, context.CancelFunc) {
	t.Helper()
	na, nb := newWire(nil)
	srv := serveDHCP(t, nb, servers...)
	st, err := New(na, l.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := st.KeepLease(ctx, l, RenewOptions{MinRetry: 20 * time.Millisecond, unit: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return st, events, srv, cancel
}

// nextEvent waits for an event; ok is false if the channel was closed.
func nextEvent(t *testing.T, events <-chan LeaseEvent) (LeaseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-events:
		return ev, ok
	case <-time.After(20 * time.Second):
		t.Fatal("no lease event in 20 s")
	}
	return LeaseEvent{}, false
}

// wantClosed checks that events ends with no further event.
func wantClosed(t *testing.T, events <-chan LeaseEvent) {
	t.Helper()
	if ev, ok := nextEvent(t, events); ok {
		t.Fatalf("event %+v after the end, want the channel closed", ev)
	}
}

// isRenewal is a REQUEST of RENEWING or REBINDING for the guest's address,
// without the options of SELECTING (RFC 2131 4.3.2 table).
func isRenewal(t *testing.T, m clientMsg) bool {
	t.Helper()
	if m.msgType != dhcpRequest || m.ciaddr != QEMUGuest.Addr() || m.ipSrc != QEMUGuest.Addr() || m.chaddr != [6]byte{0x02, 0, 0, 0, 0, 0x0a} {
		t.Errorf("message %+v: want a REQUEST from %v with ciaddr %v", m, QEMUGuest.Addr(), QEMUGuest.Addr())
		return false
	}
	if m.requested.IsValid() || m.serverID.IsValid() {
		t.Errorf("message %+v: a renewal carries a requested address or server id", m)
		return false
	}
	return true
}

// TestKeepLeaseRenews: at T1 a unicast REQUEST to the server; its ACK
// gives a new lease from the REQUEST's time, and the cycle starts again
// with a new transaction; the address stays and carries TCP.
func TestKeepLeaseRenews(t *testing.T) {
	s := qemuLikeServer()
	s.lease, s.t1, s.t2 = 400, 100, 300
	l := shortLease(400*time.Millisecond, 100*time.Millisecond, 300*time.Millisecond)
	st, events, srv, cancel := keepLease(t, l, s)
	prev := l
	for range 2 {
		ev, ok := nextEvent(t, events)
		if !ok || ev.Kind != LeaseRenewed || ev.Err != nil {
			t.Fatalf("event %+v (open %v), want a renewal", ev, ok)
		}
		n := ev.Lease
		if n.Address != QEMUGuest || n.Server != s.id || n.Gateway != s.router ||
			n.LeaseTime != 400*time.Millisecond || n.Renewal != 100*time.Millisecond || n.Rebinding != 300*time.Millisecond {
			t.Fatalf("renewed lease %v (T1 %v, T2 %v), want the ACK's", n, n.Renewal, n.Rebinding)
		}
		if n.Start.Before(prev.Start.Add(prev.Renewal)) || !n.Expiry().After(prev.Expiry()) {
			t.Fatalf("renewed lease from %v to %v; the one before from %v, T1 at %v: want it sent at T1 or later, ending later",
				n.Start, n.Expiry(), prev.Start, prev.Start.Add(prev.Renewal))
		}
		if ev.Stats.Naks != 0 || ev.Stats.Malformed != 0 || ev.Stats.Ignored != 0 {
			t.Errorf("stats %+v", ev.Stats)
		}
		prev = n
	}
	if a, ok := st.Address(); !ok || a != QEMUGuest {
		t.Fatalf("the stack's address after the renewals: %v %v, want %v", a, ok, QEMUGuest)
	}
	cancel()
	wantClosed(t, events)
	srv.close(t)
	msgs := srv.messages()
	if len(msgs) < 2 {
		t.Fatalf("the server saw %d messages, want two renewals", len(msgs))
	}
	for _, m := range msgs {
		if isRenewal(t, m) && (m.broadcastEth || m.ethDst != serverMAC || m.ipDst != s.id) {
			t.Errorf("renewal %+v: want it unicast to the server %v at %v", m, s.id, serverMAC)
		}
	}
	if msgs[0].xid == msgs[1].xid {
		t.Errorf("two renewals with xid %x: want a transaction each", msgs[0].xid)
	}

	b, err := New(srv.nic, Config{Address: addrB})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	echoRoundTrip(t, st, b, 10*time.Second, 4<<10)
}

// TestKeepLeaseRebinds: the server does not answer the unicast REQUESTs
// of RENEWING, sent again until T2; at T2 the client broadcasts the
// REQUEST of the same transaction, and the server's broadcast ACK renews
// the lease.
func TestKeepLeaseRebinds(t *testing.T) {
	s := qemuLikeServer()
	s.lease, s.t1, s.t2 = 400, 100, 250
	s.ignoreRenewing, s.broadcast = true, true
	l := shortLease(400*time.Millisecond, 100*time.Millisecond, 250*time.Millisecond)
	_, events, srv, cancel := keepLease(t, l, s)
	ev, ok := nextEvent(t, events)
	if !ok || ev.Kind != LeaseRenewed || ev.Lease.Start.Before(l.Start.Add(l.Renewal)) || !ev.Lease.Expiry().After(l.Expiry()) {
		t.Fatalf("event %+v (open %v), want a renewal from T1 on", ev, ok)
	}
	cancel()
	wantClosed(t, events)
	srv.close(t)
	msgs := srv.messages()
	unicast := 0
	for i, m := range msgs {
		if !isRenewal(t, m) || m.xid != msgs[0].xid {
			t.Fatalf("message %d %+v: want renewals of one transaction", i, m)
		}
		if !m.broadcastEth {
			unicast++
			continue
		}
		if m.ipDst != netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			t.Errorf("rebinding REQUEST %+v: want it to 255.255.255.255", m)
		}
		break
	}
	// T1 at 100 ms, then half the time left to T2 at 250 ms: 175 ms,
	// then at least MinRetry (20 ms) apart, up to T2.
	if unicast < 3 || unicast == len(msgs) {
		t.Fatalf("%d unicast REQUESTs of %d messages: want three or more before a broadcast one", unicast, len(msgs))
	}
	if ev.Stats.Requests < uint64(unicast+1) {
		t.Errorf("stats %+v: fewer REQUESTs than the server saw (%d)", ev.Stats, unicast+1)
	}
}

// TestKeepLeaseNak: a NAK of the renewal removes the address and reports
// it; the keeper stops.
func TestKeepLeaseNak(t *testing.T) {
	s := qemuLikeServer()
	s.naks = 1
	l := shortLease(400*time.Millisecond, 100*time.Millisecond, 300*time.Millisecond)
	st, events, _, _ := keepLease(t, l, s)
	ev, ok := nextEvent(t, events)
	if !ok || ev.Kind != LeaseLost || !errors.Is(ev.Err, ErrLeaseNak) || ev.Lease != l || ev.Stats.Naks != 1 {
		t.Fatalf("event %+v (open %v), want the lease lost to a NAK", ev, ok)
	}
	if a, ok := st.Address(); ok {
		t.Fatalf("the stack keeps %v after the NAK", a)
	}
	wantClosed(t, events)
}

// TestKeepLeaseExpires: with no server, the client renews, rebinds, and at
// the lease's end removes the address and reports it.
func TestKeepLeaseExpires(t *testing.T) {
	s := qemuLikeServer()
	s.silent = true
	l := shortLease(200*time.Millisecond, 50*time.Millisecond, 120*time.Millisecond)
	st, events, srv, _ := keepLease(t, l, s)
	ev, ok := nextEvent(t, events)
	if !ok || ev.Kind != LeaseLost || !errors.Is(ev.Err, ErrLeaseExpired) || ev.Lease != l {
		t.Fatalf("event %+v (open %v), want the lease expired", ev, ok)
	}
	if time.Now().Before(l.Expiry()) {
		t.Fatalf("lease lost at %v, before its end %v", time.Now(), l.Expiry())
	}
	if a, ok := st.Address(); ok {
		t.Fatalf("the stack keeps %v after the lease's end", a)
	}
	wantClosed(t, events)
	srv.close(t)
	// The silent server answers no ARP either: only the broadcast
	// REQUESTs of REBINDING reach it.
	msgs := srv.messages()
	if len(msgs) < 2 || ev.Stats.Requests < uint64(len(msgs))+1 {
		t.Fatalf("server saw %d REQUESTs, stats %+v: want renewals and two or more rebinding REQUESTs", len(msgs), ev.Stats)
	}
	for _, m := range msgs {
		if isRenewal(t, m) && !m.broadcastEth {
			t.Errorf("message %+v reached the server without its ARP answer", m)
		}
	}
}

// TestKeepLeaseIgnoresNoise: before its ACK the server sends answers of
// another transaction, client, server or address, of a wrong type, and
// replies that do not parse: the client counts them and takes the ACK.
func TestKeepLeaseIgnoresNoise(t *testing.T) {
	s := qemuLikeServer()
	var nIgnored, nMalformed int
	s.noise = func(s *testServer, m clientMsg) [][]byte {
		if !m.ciaddr.IsValid() {
			return nil
		}
		mm := m
		mm.xid++
		wrongXID := s.reply(mm, dhcpNak)
		mm = m
		mm.chaddr[5] ^= 1
		wrongCHAddr := s.reply(mm, dhcpAck)
		other := *s
		other.id = netip.MustParseAddr("10.0.2.3")
		otherServer := other.reply(m, dhcpNak)
		otherAddr := buildServerFrame(m.xid, m.chaddr, netip.MustParseAddr("10.0.2.99"), s.id, tcpip.LinkAddress(m.chaddr[:]), QEMUGuest.Addr(),
			[]byte{optMessageType, 1, dhcpAck, optServerID, 4, 10, 0, 2, 2, optEnd})
		offer := s.reply(m, dhcpOffer)
		runaway := buildServerFrame(m.xid, m.chaddr, s.offer, s.id, tcpip.LinkAddress(m.chaddr[:]), s.offer,
			[]byte{optMessageType, 1, dhcpNak, optServerID, 4, 10, 0, 2, 2, optRouter, 200, 10, 0})
		noType := buildServerFrame(m.xid, m.chaddr, s.offer, s.id, tcpip.LinkAddress(m.chaddr[:]), s.offer,
			[]byte{optServerID, 4, 10, 0, 2, 2, optEnd})
		ignored := [][]byte{wrongXID, wrongCHAddr, otherServer, otherAddr, offer}
		malformed := [][]byte{runaway, noType}
		nIgnored, nMalformed = len(ignored), len(malformed)
		return append(ignored, malformed...)
	}
	l := shortLease(400*time.Millisecond, 100*time.Millisecond, 300*time.Millisecond)
	st, events, srv, cancel := keepLease(t, l, s)
	ev, ok := nextEvent(t, events)
	if !ok || ev.Kind != LeaseRenewed {
		t.Fatalf("event %+v (open %v), want a renewal", ev, ok)
	}
	cancel()
	srv.close(t)
	if ev.Stats.Ignored != uint64(nIgnored) || ev.Stats.Malformed != uint64(nMalformed) || ev.Stats.Naks != 0 || ev.Stats.Requests != 1 {
		t.Fatalf("stats %+v: want one REQUEST, %d ignored and %d malformed", ev.Stats, nIgnored, nMalformed)
	}
	if a, ok := st.Address(); !ok || a != QEMUGuest {
		t.Fatalf("address %v %v after the noise, want %v", a, ok, QEMUGuest)
	}
}

// TestKeepLeaseArguments: a lease without address, server or start is
// refused; a second KeepLease on the stack finds port 68 taken; closing
// the stack closes the events.
func TestKeepLeaseArguments(t *testing.T) {
	l := shortLease(time.Hour, 30*time.Minute, 50*time.Minute)
	st, events, _, _ := keepLease(t, l, qemuLikeServer())
	ctx := context.Background()
	noStart := l
	noStart.Start = time.Time{}
	for _, bad := range []Lease{{}, {Address: QEMUGuest, LeaseTime: LeaseInfinite}, noStart} {
		if _, err := st.KeepLease(ctx, bad, RenewOptions{}); !errors.Is(err, ErrConfig) {
			t.Errorf("KeepLease(%v) = %v, want ErrConfig", bad, err)
		}
	}
	if _, err := st.KeepLease(ctx, l, RenewOptions{}); err == nil {
		t.Errorf("a second KeepLease on the stack: no error, want port %d in use", dhcpClientPort)
	}
	st.Close()
	wantClosed(t, events)
}
