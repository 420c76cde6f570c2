package netstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// RenewOptions tunes KeepLease. The zero value follows RFC 2131 4.4.5.
type RenewOptions struct {
	// MinRetry is the shortest wait before a REQUEST is sent again in
	// RENEWING and REBINDING (the wait is half the time left to T2, or to
	// the lease's end, but not less). Zero means 60 s.
	MinRetry time.Duration

	// unit is what one second of an ACK's lease times stands for; zero
	// means a second. Tests shorten it.
	unit time.Duration
}

// LeaseEventKind says what happened to a kept lease.
type LeaseEventKind int

const (
	// LeaseRenewed: a server ACKed a REQUEST; Event.Lease is the new
	// lease.
	LeaseRenewed LeaseEventKind = iota + 1
	// LeaseLost: a NAK, or the lease's end without an ACK; the address
	// is removed from the stack and Event.Err says why.
	LeaseLost
)

// Errors of a LeaseLost event.
var (
	ErrLeaseNak     = errors.New("netstack: DHCP: lease refused (NAK)")
	ErrLeaseExpired = errors.New("netstack: DHCP: lease expired without renewal")
)

// LeaseEvent is one report of KeepLease.
type LeaseEvent struct {
	Kind LeaseEventKind
	// Lease is the lease in force: the new one after a renewal, the lost
	// one after a loss.
	Lease Lease
	// Err is ErrLeaseNak or ErrLeaseExpired for LeaseLost, nil otherwise.
	Err error
	// Stats counts what KeepLease did so far: Requests sent, Naks,
	// Ignored answers (another transaction or client, another address or
	// server, a type it does not wait for) and Malformed ones.
	Stats DHCPStats
}

// KeepLease keeps l, the lease the stack was made with (New with
// l.Config()), as RFC 2131 4.4.5 says: at T1 (l.Renewal) it sends a
// DHCPREQUEST with ciaddr set, unicast to l.Server through the stack,
// again after half the time left to T2 (at least MinRetry); at T2
// (l.Rebinding) it broadcasts the REQUEST, again after half the time left
// to the lease's end. An ACK for the address starts the cycle again with
// the ACK's lease; a NAK, or the lease's end without an ACK, removes the
// address from the stack. Every ACK and the loss are sent on the returned
// channel, which is closed when KeepLease stops: after a loss, at the end
// of ctx, or when the stack is closed. The caller must read the channel:
// KeepLease waits for each event to be taken. An infinite lease is kept
// without a message; the channel is closed at the end of ctx.
//
// KeepLease opens a UDP endpoint on port 68 of every address of the stack
// (so that it gets the broadcast NAKs of RFC 2131 4.3.2 too); it takes
// the answers of its own transaction only. The stack's prefix and routes
// stay as New set them: a new subnet mask or router in an ACK is reported
// in the event's lease but not applied, and an ACK for another address is
// ignored.
func (st *Stack) KeepLease(ctx context.Context, l Lease, opts RenewOptions) (<-chan LeaseEvent, error) {
	if opts.MinRetry <= 0 {
		opts.MinRetry = 60 * time.Second
	}
	if opts.unit <= 0 {
		opts.unit = time.Second
	}
	if !l.Server.Is4() || !l.Address.Addr().Is4() || (l.LeaseTime != LeaseInfinite && l.Start.IsZero()) {
		return nil, fmt.Errorf("%w: lease %v has no IPv4 address, server or start", ErrConfig, l)
	}
	k := &leaseKeeper{st: st, lease: l, opts: opts, events: make(chan LeaseEvent), buf: make([]byte, bootpMinSize)}
	copy(k.mac[:], st.ep.nic.MAC())
	ep, terr := st.s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &k.wq)
	if terr != nil {
		return nil, fmt.Errorf("netstack: DHCP: UDP endpoint: %v", terr)
	}
	ep.SocketOptions().SetBroadcast(true)
	if terr := ep.Bind(tcpip.FullAddress{NIC: nicID, Port: dhcpClientPort}); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("netstack: DHCP: binding port %d: %v", dhcpClientPort, terr)
	}
	k.ep = ep
	go k.run(ctx)
	return k.events, nil
}

// leaseKeeper is the state of one KeepLease.
type leaseKeeper struct {
	st     *Stack
	lease  Lease
	opts   RenewOptions
	mac    [6]byte
	ep     tcpip.Endpoint
	wq     waiter.Queue
	events chan LeaseEvent
	buf    []byte
	stats  DHCPStats

	xid      uint32
	first    time.Time // first REQUEST of this transaction
	rebind   bool      // past T2: REQUESTs are broadcast
	received bytes.Buffer
}

// at is the time d after the lease's start; the zero time (never) for an
// infinite d.
func (k *leaseKeeper) at(d time.Duration) time.Time {
	if d == LeaseInfinite {
		return time.Time{}
	}
	return k.lease.Start.Add(d)
}

func (k *leaseKeeper) run(ctx context.Context) {
	defer close(k.events)
	defer k.ep.Close()
	entry, readable := waiter.NewChannelEntry(waiter.EventIn)
	k.wq.EventRegister(&entry)
	defer k.wq.EventUnregister(&entry)

	timer := time.NewTimer(0)
	defer timer.Stop()
	next := k.at(k.lease.Renewal) // when to send, or give up
	for {
		if ev, done := k.readAll(); done {
			k.report(ctx, ev)
			if ev.Kind == LeaseLost {
				return
			}
			next = k.at(k.lease.Renewal)
		}
		now := time.Now()
		if !next.IsZero() && !now.Before(next) {
			next = k.timeout(now)
			if next.IsZero() { // the lease's end
				k.lose()
				k.report(ctx, LeaseEvent{Kind: LeaseLost, Lease: k.lease, Err: ErrLeaseExpired})
				return
			}
			continue
		}
		var wake <-chan time.Time
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
			wake = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-k.st.stop:
			return
		case <-readable:
		case <-wake:
		}
	}
}

// timeout sends the REQUEST due at now and returns when to act next: the
// next REQUEST, T2, or the lease's end; the zero time when the lease has
// ended.
func (k *leaseKeeper) timeout(now time.Time) time.Time {
	t2, end := k.at(k.lease.Rebinding), k.at(k.lease.LeaseTime)
	if !end.IsZero() && !now.Before(end) {
		return time.Time{}
	}
	if k.first.IsZero() { // a new transaction
		k.xid, k.first = rand.Uint32(), now
	}
	k.rebind = !t2.IsZero() && !now.Before(t2)
	k.send(now)
	limit := t2
	if k.rebind {
		limit = end
	}
	if limit.IsZero() { // T2 or the end never comes: retry at the shortest wait
		return now.Add(k.opts.MinRetry)
	}
	return minTime(now.Add(max(limit.Sub(now)/2, k.opts.MinRetry)), limit, end)
}

// minTime is the earliest of a and the non-zero times of b.
func minTime(a time.Time, b ...time.Time) time.Time {
	for _, t := range b {
		if !t.IsZero() && t.Before(a) {
			a = t
		}
	}
	return a
}

// send sends a REQUEST: unicast to the server in RENEWING, broadcast in
// REBINDING. A failure to send is counted as a REQUEST sent and lost.
func (k *leaseKeeper) send(now time.Time) {
	req := bootpRequest{msgType: dhcpRequest, xid: k.xid, secs: now.Sub(k.first), mac: k.mac, ciaddr: k.lease.Address.Addr()}
	n := req.write(k.buf)
	to := tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(k.lease.Server.As4()), Port: dhcpServerPort}
	if k.rebind {
		to.Addr = tcpip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	k.stats.Requests++
	var r bytes.Reader
	r.Reset(k.buf[:n])
	k.ep.Write(&r, tcpip.WriteOptions{To: &to})
}

// readAll reads the datagrams waiting; done is true with the event of an
// ACK or NAK of the transaction.
func (k *leaseKeeper) readAll() (ev LeaseEvent, done bool) {
	for {
		k.received.Reset()
		if _, terr := k.ep.Read(&k.received, tcpip.ReadOptions{}); terr != nil {
			return LeaseEvent{}, false
		}
		if ev, done := k.receive(k.received.Bytes()); done {
			return ev, true
		}
	}
}

// receive handles one datagram to port 68.
func (k *leaseKeeper) receive(m []byte) (LeaseEvent, bool) {
	var r dhcpReply
	if err := parseBOOTPReply(&r, m); err != nil {
		k.stats.Malformed++
		return LeaseEvent{}, false
	}
	// In RENEWING only the lease's server answers; in REBINDING any.
	fromServer := r.serverID == k.lease.Server || (k.rebind && r.serverID.IsValid())
	if k.first.IsZero() || r.xid != k.xid || r.chaddr != k.mac || !fromServer {
		k.stats.Ignored++
		return LeaseEvent{}, false
	}
	switch {
	case r.msgType == dhcpAck && r.yiaddr == k.lease.Address.Addr():
		k.lease = leaseOfAck(r, k.lease.Address.Bits(), k.lease.Gateway, k.first, k.opts.unit)
		k.xid, k.first, k.rebind = 0, time.Time{}, false
		return LeaseEvent{Kind: LeaseRenewed, Lease: k.lease, Stats: k.stats}, true
	case r.msgType == dhcpNak:
		k.stats.Naks++
		k.lose()
		return LeaseEvent{Kind: LeaseLost, Lease: k.lease, Err: ErrLeaseNak}, true
	}
	k.stats.Ignored++
	return LeaseEvent{}, false
}

// lose removes the leased address from the stack (RFC 2131 4.4.5: the
// client stops using it).
func (k *leaseKeeper) lose() {
	k.st.s.RemoveAddress(nicID, tcpip.AddrFrom4(k.lease.Address.Addr().As4()))
}

// report sends ev, with the stats, unless ctx ends or the stack closes
// first.
func (k *leaseKeeper) report(ctx context.Context, ev LeaseEvent) {
	ev.Stats = k.stats
	select {
	case k.events <- ev:
	case <-ctx.Done():
	case <-k.st.stop:
	}
}

// Address is the stack's IPv4 address and prefix; false once KeepLease
// removed it.
func (st *Stack) Address() (netip.Prefix, bool) {
	a, terr := st.s.GetMainNICAddress(nicID, ipv4.ProtocolNumber)
	if terr != nil || a.Address.Len() == 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(netip.AddrFrom4(a.Address.As4()), a.PrefixLen), true
}
