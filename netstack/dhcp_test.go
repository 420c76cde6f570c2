package netstack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// A DHCP server of the tests, on the far end of a wire. It reads the
// client's frames and builds its answers with gVisor's header package, not
// with the client's own code, so the two check each other.

// clientMsg is what the server read of one of the client's messages.
type clientMsg struct {
	msgType              byte
	xid                  uint32
	chaddr               [6]byte
	requested, serverID  netip.Addr
	params               []byte
	frameLen, bootpLen   int
	broadcastEth, fromIP bool // Ethernet to ff:..:ff; IP source 0.0.0.0 to 255.255.255.255
	ciaddr               netip.Addr
	ethDst               tcpip.LinkAddress
	ipSrc, ipDst         netip.Addr
}

// testServer is one server's behaviour.
type testServer struct {
	id, offer, router netip.Addr
	maskBits          int    // -1: no option 1
	lease, t1, t2     uint32 // 0: no option 51, 58, 59
	naks              int    // NAK this many REQUESTs addressed to it first
	silent            bool   // answer nothing
	nakOthers         bool   // NAK the REQUESTs addressed to another server
	ignoreRequests    bool   // offer, but answer no REQUEST
	ignoreRenewing    bool   // answer no REQUEST with ciaddr unicast to it (RENEWING), only broadcast ones
	broadcast         bool   // answer to ff:..:ff and 255.255.255.255, not to the client's MAC and offered address
	noise             func(s *testServer, m clientMsg) [][]byte
}

func qemuLikeServer() *testServer {
	return &testServer{
		id: netip.MustParseAddr("10.0.2.2"), offer: netip.MustParseAddr("10.0.2.15"),
		router: netip.MustParseAddr("10.0.2.2"), maskBits: 24, lease: 86400,
	}
}

// dhcpNet serves DHCP on nic with servers until stop.
type dhcpNet struct {
	nic     *wireNIC
	servers []*testServer
	mu      sync.Mutex
	msgs    []clientMsg
	errs    []string
	stop    chan struct{}
	done    chan struct{}
}

func serveDHCP(t *testing.T, nic *wireNIC, servers ...*testServer) *dhcpNet {
	d := &dhcpNet{nic: nic, servers: servers, stop: make(chan struct{}), done: make(chan struct{})}
	go d.loop()
	t.Cleanup(func() { d.close(t) })
	return d
}

// close stops the server and fails t with what it found wrong in the
// client's frames.
func (d *dhcpNet) close(t *testing.T) {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.errs {
		t.Error(e)
	}
	d.errs = nil
}

func (d *dhcpNet) messages() []clientMsg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.msgs)
}

func (d *dhcpNet) loop() {
	defer close(d.done)
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		f := d.nic.Receive()
		if f == nil {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		if d.answerARP(f) {
			continue
		}
		m, err := readClientFrame(f, d.nic.peer.mac)
		d.mu.Lock()
		if err != nil {
			d.errs = append(d.errs, err.Error())
		} else {
			d.msgs = append(d.msgs, m)
		}
		d.mu.Unlock()
		if err != nil {
			continue
		}
		// The servers a REQUEST is not addressed to answer first, so that
		// the client sees their answers before the one it waits for.
		order := slices.Clone(d.servers)
		if m.msgType == dhcpRequest {
			slices.SortStableFunc(order, func(a, b *testServer) int {
				return boolInt(a.id == m.serverID) - boolInt(b.id == m.serverID)
			})
		}
		for _, s := range order {
			for _, r := range s.answer(m) {
				d.nic.Transmit(r)
			}
		}
	}
}

// answerARP answers an ARP request for a server's address; it reports
// whether f was ARP.
func (d *dhcpNet) answerARP(f []byte) bool {
	if len(f) < header.EthernetMinimumSize || header.Ethernet(f).Type() != header.ARPProtocolNumber {
		return false
	}
	req := header.ARP(f[header.EthernetMinimumSize:])
	if !req.IsValid() || req.Op() != header.ARPRequest {
		return true
	}
	for _, s := range d.servers {
		if s.silent || !bytes.Equal(req.ProtocolAddressTarget(), s.id.AsSlice()) {
			continue
		}
		r := make([]byte, header.EthernetMinimumSize+header.ARPSize)
		header.Ethernet(r).Encode(&header.EthernetFields{SrcAddr: serverMAC, DstAddr: tcpip.LinkAddress(req.HardwareAddressSender()), Type: header.ARPProtocolNumber})
		a := header.ARP(r[header.EthernetMinimumSize:])
		a.SetIPv4OverEthernet()
		a.SetOp(header.ARPReply)
		copy(a.HardwareAddressSender(), serverMAC)
		copy(a.ProtocolAddressSender(), s.id.AsSlice())
		copy(a.HardwareAddressTarget(), req.HardwareAddressSender())
		copy(a.ProtocolAddressTarget(), req.ProtocolAddressSender())
		d.nic.Transmit(r)
	}
	return true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// answer is what s sends for m.
func (s *testServer) answer(m clientMsg) [][]byte {
	if s.silent {
		return nil
	}
	var out [][]byte
	if s.noise != nil {
		out = s.noise(s, m)
	}
	switch {
	case m.msgType == dhcpDiscover:
		out = append(out, s.reply(m, dhcpOffer))
	case m.msgType == dhcpRequest && m.ciaddr.IsValid(): // RENEWING or REBINDING (RFC 2131 4.3.2)
		switch {
		case m.ciaddr != s.offer, s.ignoreRenewing && !m.broadcastEth:
		case s.naks > 0:
			s.naks--
			out = append(out, s.reply(m, dhcpNak))
		default:
			out = append(out, s.reply(m, dhcpAck))
		}
	case m.msgType == dhcpRequest && s.ignoreRequests:
	case m.msgType == dhcpRequest && m.serverID == s.id && m.requested == s.offer:
		if s.naks > 0 {
			s.naks--
			out = append(out, s.reply(m, dhcpNak))
		} else {
			out = append(out, s.reply(m, dhcpAck))
		}
	case m.msgType == dhcpRequest && s.nakOthers:
		out = append(out, s.reply(m, dhcpNak))
	}
	return out
}

// reply builds s's answer of type t to m.
func (s *testServer) reply(m clientMsg, t byte) []byte {
	opts := []byte{optMessageType, 1, t}
	opts = append(opts, optServerID, 4)
	opts = append(opts, s.id.AsSlice()...)
	yi := s.offer
	if t == dhcpNak {
		yi = netip.IPv4Unspecified()
	} else {
		if s.maskBits >= 0 {
			opts = binary.BigEndian.AppendUint32(append(opts, optSubnetMask, 4), ^uint32(0)<<(32-s.maskBits))
		}
		if s.router.IsValid() {
			opts = append(append(opts, optRouter, 8), s.router.AsSlice()...)
			opts = append(opts, 10, 0, 2, 254) // a second router, not taken
		}
		for _, o := range []struct {
			code byte
			v    uint32
		}{{optLeaseTime, s.lease}, {optRenewalT1, s.t1}, {optRebindingT2, s.t2}} {
			if o.v != 0 {
				opts = binary.BigEndian.AppendUint32(append(opts, o.code, 4), o.v)
			}
		}
	}
	opts = append(opts, optEnd)
	dstMAC, dstIP := tcpip.LinkAddress(m.chaddr[:]), yi
	if s.broadcast || t == dhcpNak {
		dstMAC, dstIP = header.EthernetBroadcastAddress, netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	return buildServerFrame(m.xid, m.chaddr, yi, s.id, dstMAC, dstIP, opts)
}

// serverMAC is the test servers' Ethernet address.
var serverMAC = tcpip.LinkAddress([]byte{0x02, 0, 0, 0, 0, 0x53})

// buildServerFrame builds a BOOTREPLY frame with gVisor's headers.
func buildServerFrame(xid uint32, chaddr [6]byte, yiaddr, from netip.Addr, dstMAC tcpip.LinkAddress, dstIP netip.Addr, opts []byte) []byte {
	bootp := make([]byte, bootpOptions+len(opts))
	bootp[0], bootp[1], bootp[2] = 2, 1, 6
	binary.BigEndian.PutUint32(bootp[4:], xid)
	copy(bootp[16:20], yiaddr.AsSlice())
	copy(bootp[20:24], from.AsSlice())
	copy(bootp[28:], chaddr[:])
	copy(bootp[236:], []byte{99, 130, 83, 99})
	copy(bootp[240:], opts)
	f := make([]byte, header.EthernetMinimumSize+header.IPv4MinimumSize+header.UDPMinimumSize+len(bootp))
	header.Ethernet(f).Encode(&header.EthernetFields{SrcAddr: serverMAC, DstAddr: dstMAC, Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	src, dst := tcpip.AddrFrom4(from.As4()), tcpip.AddrFrom4(dstIP.As4())
	ip.Encode(&header.IPv4Fields{TotalLength: uint16(len(ip)), TTL: 64, Protocol: uint8(header.UDPProtocolNumber), SrcAddr: src, DstAddr: dst})
	ip.SetChecksum(^ip.CalculateChecksum())
	udp := header.UDP(ip[header.IPv4MinimumSize:])
	udp.Encode(&header.UDPFields{SrcPort: 67, DstPort: 68, Length: uint16(len(udp))})
	copy(udp[header.UDPMinimumSize:], bootp)
	xsum := header.PseudoHeaderChecksum(header.UDPProtocolNumber, src, dst, uint16(len(udp)))
	xsum = checksum.Combine(xsum, checksum.Checksum(bootp, 0))
	udp.SetChecksum(^udp.CalculateChecksum(xsum))
	return f
}

// readClientFrame checks a client frame with gVisor's headers and reads
// its DHCP message.
func readClientFrame(f []byte, clientMAC []byte) (clientMsg, error) {
	var m clientMsg
	fail := func(what string) (clientMsg, error) { return m, errors.New("client frame: " + what) }
	m.frameLen = len(f)
	if len(f) < header.EthernetMinimumSize+header.IPv4MinimumSize+header.UDPMinimumSize {
		return fail("too short")
	}
	eth := header.Ethernet(f)
	if eth.Type() != header.IPv4ProtocolNumber || eth.SourceAddress() != tcpip.LinkAddress(clientMAC) {
		return fail("not IPv4 from the client's MAC")
	}
	m.broadcastEth = eth.DestinationAddress() == header.EthernetBroadcastAddress
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	if !ip.IsValid(len(ip)) || !ip.IsChecksumValid() || ip.TransportProtocol() != header.UDPProtocolNumber {
		return fail("bad IPv4 header")
	}
	m.fromIP = ip.SourceAddress() == header.IPv4Any && ip.DestinationAddress() == header.IPv4Broadcast
	m.ethDst = eth.DestinationAddress()
	m.ipSrc, m.ipDst = netip.AddrFrom4(ip.SourceAddress().As4()), netip.AddrFrom4(ip.DestinationAddress().As4())
	udp := header.UDP(ip.Payload())
	if udp.SourcePort() != 68 || udp.DestinationPort() != 67 || int(udp.Length()) != len(udp) {
		return fail("bad UDP header")
	}
	if !udp.IsChecksumValid(ip.SourceAddress(), ip.DestinationAddress(), checksum.Checksum(udp.Payload(), 0)) {
		return fail("bad UDP checksum")
	}
	b := udp.Payload()
	m.bootpLen = len(b)
	if len(b) < bootpOptions || b[0] != 1 || b[1] != 1 || b[2] != 6 || !bytes.Equal(b[236:240], []byte{99, 130, 83, 99}) {
		return fail("not a BOOTREQUEST with the DHCP cookie")
	}
	m.xid = binary.BigEndian.Uint32(b[4:])
	if ci := netip.AddrFrom4([4]byte(b[12:16])); !ci.IsUnspecified() {
		m.ciaddr = ci
	}
	copy(m.chaddr[:], b[28:34])
	for o := b[bootpOptions:]; len(o) > 0 && o[0] != optEnd; {
		if o[0] == optPad {
			o = o[1:]
			continue
		}
		if len(o) < 2 || len(o) < 2+int(o[1]) {
			return fail("options run past the message")
		}
		v := o[2 : 2+o[1]]
		switch o[0] {
		case optMessageType:
			m.msgType = v[0]
		case optRequestedIP:
			m.requested = netip.AddrFrom4([4]byte(v))
		case optServerID:
			m.serverID = netip.AddrFrom4([4]byte(v))
		case optParamList:
			m.params = slices.Clone(v)
		}
		o = o[2+len(v):]
	}
	return m, nil
}

// fastOptions retransmit quickly, for tests.
func fastOptions() DHCPOptions {
	return DHCPOptions{Retransmit: 20 * time.Millisecond, MaxRetransmit: 80 * time.Millisecond}
}

func dhcp(t *testing.T, nic NIC, limit time.Duration) (Lease, DHCPStats, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return DHCP(ctx, nic, fastOptions())
}

// TestDHCPLease: DISCOVER, OFFER, REQUEST, ACK; the lease is the ACK's,
// the messages are well formed broadcasts of one transaction, and the
// lease's Config sets up a stack that carries TCP.
func TestDHCPLease(t *testing.T) {
	na, nb := newWire(nil)
	srv := serveDHCP(t, nb, qemuLikeServer())
	before := time.Now()
	l, st, err := dhcp(t, na, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := Lease{Address: QEMUGuest, Gateway: QEMUGateway, Server: QEMUGateway,
		LeaseTime: 24 * time.Hour, Renewal: 12 * time.Hour, Rebinding: 21 * time.Hour, Start: l.Start}
	if l != want {
		t.Fatalf("lease %v, want %v", l, want)
	}
	if l.Start.Before(before) || l.Expiry() != l.Start.Add(24*time.Hour) {
		t.Errorf("lease start %v (DHCP called at %v), expiry %v", l.Start, before, l.Expiry())
	}
	if st.Discovers != 1 || st.Offers != 1 || st.Requests != 1 || st.Naks != 0 || st.Malformed != 0 {
		t.Errorf("stats %+v, want one DISCOVER, OFFER and REQUEST", st)
	}
	srv.close(t)
	msgs := srv.messages()
	if len(msgs) != 2 || msgs[0].msgType != dhcpDiscover || msgs[1].msgType != dhcpRequest {
		t.Fatalf("the server saw %+v, want a DISCOVER and a REQUEST", msgs)
	}
	for _, m := range msgs {
		if !m.broadcastEth || !m.fromIP || m.chaddr != [6]byte(na.mac) || m.bootpLen < bootpMinSize {
			t.Errorf("message %+v: want a broadcast from 0.0.0.0 with the client's chaddr, BOOTP of at least %d bytes", m, bootpMinSize)
		}
		for _, p := range []byte{optSubnetMask, optRouter, optLeaseTime} {
			if !slices.Contains(m.params, p) {
				t.Errorf("message type %d does not ask for option %d: %v", m.msgType, p, m.params)
			}
		}
	}
	if msgs[0].xid != msgs[1].xid || msgs[1].requested != QEMUGuest.Addr() || msgs[1].serverID != QEMUGateway {
		t.Errorf("REQUEST %+v after DISCOVER %+v: want the same xid, the offered address and the server's id", msgs[1], msgs[0])
	}
	if msgs[0].requested.IsValid() || msgs[0].serverID.IsValid() {
		t.Errorf("the DISCOVER carries a requested address or server id: %+v", msgs[0])
	}

	a, err := New(na, l.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(nb, Config{Address: addrB})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	echoRoundTrip(t, a, b, 10*time.Second, 64<<10)
}

// TestDHCPLeaseDefaults: an ACK without a subnet mask, router or lease
// time gives the address's class, no gateway and an infinite lease; one
// with T1 and T2 gives them; a broadcast answer is taken as well as a
// unicast one.
func TestDHCPLeaseDefaults(t *testing.T) {
	na, nb := newWire(nil)
	s := &testServer{id: netip.MustParseAddr("172.16.0.1"), offer: netip.MustParseAddr("172.16.4.9"), maskBits: -1, broadcast: true}
	serveDHCP(t, nb, s)
	l, _, err := dhcp(t, na, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l.Address != netip.MustParsePrefix("172.16.4.9/16") || l.Gateway.IsValid() || l.LeaseTime != LeaseInfinite ||
		l.Renewal != LeaseInfinite || !l.Expiry().IsZero() {
		t.Fatalf("lease %v (renewal %v, expiry %v): want 172.16.4.9/16, no gateway, infinite", l, l.Renewal, l.Expiry())
	}
	st, err := New(na, l.Config())
	if err != nil {
		t.Fatalf("New with the lease's config: %v", err)
	}
	st.Close()

	na, nb = newWire(nil)
	s = qemuLikeServer()
	s.lease, s.t1, s.t2 = 600, 100, 500
	serveDHCP(t, nb, s)
	if l, _, err = dhcp(t, na, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if l.LeaseTime != 600*time.Second || l.Renewal != 100*time.Second || l.Rebinding != 500*time.Second {
		t.Fatalf("lease %v, T1 %v, T2 %v: want 600s, 100s, 500s", l, l.Renewal, l.Rebinding)
	}
}

// TestDHCPNakStartsAgain: a NAK of the REQUEST sends the client back to a
// DISCOVER with a new transaction id, and the second round gets the lease.
func TestDHCPNakStartsAgain(t *testing.T) {
	na, nb := newWire(nil)
	s := qemuLikeServer()
	s.naks = 1
	srv := serveDHCP(t, nb, s)
	l, st, err := dhcp(t, na, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l.Address != QEMUGuest || st.Naks != 1 || st.Discovers != 2 || st.Requests != 2 {
		t.Fatalf("lease %v, stats %+v: want %v after one NAK, two DISCOVERs and REQUESTs", l, st, QEMUGuest)
	}
	srv.close(t)
	var types []byte
	for _, m := range srv.messages() {
		types = append(types, m.msgType)
	}
	msgs := srv.messages()
	if !bytes.Equal(types, []byte{dhcpDiscover, dhcpRequest, dhcpDiscover, dhcpRequest}) {
		t.Fatalf("message types %v", types)
	}
	if msgs[0].xid != msgs[1].xid || msgs[2].xid != msgs[3].xid || msgs[0].xid == msgs[2].xid {
		t.Errorf("xids %x %x %x %x: want one per round, and a new one after the NAK", msgs[0].xid, msgs[1].xid, msgs[2].xid, msgs[3].xid)
	}
}

// TestDHCPNoServer: with no answer, the client sends its DISCOVER again
// (one transaction) until the context ends, then says so.
func TestDHCPNoServer(t *testing.T) {
	na, nb := newWire(nil)
	s := qemuLikeServer()
	s.silent = true
	srv := serveDHCP(t, nb, s)
	l, st, err := dhcp(t, na, 500*time.Millisecond)
	if !errors.Is(err, ErrNoLease) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DHCP = %v, %v: want ErrNoLease at the deadline", l, err)
	}
	if !strings.Contains(err.Error(), "DISCOVERs") || l != (Lease{}) {
		t.Errorf("error %q, lease %v: want the count of DISCOVERs and no lease", err, l)
	}
	srv.close(t)
	msgs := srv.messages()
	if st.Discovers < 2 || st.Requests != 0 || uint64(len(msgs)) != st.Discovers {
		t.Fatalf("stats %+v, server saw %d messages: want at least two DISCOVERs, all seen", st, len(msgs))
	}
	for _, m := range msgs {
		if m.msgType != dhcpDiscover || m.xid != msgs[0].xid {
			t.Fatalf("message %+v: want DISCOVERs of one transaction", m)
		}
	}
}

// TestDHCPRequestUnanswered: a server that offers but never answers the
// REQUEST: after RequestTries REQUESTs the client starts again with a new
// DISCOVER, until the context ends.
func TestDHCPRequestUnanswered(t *testing.T) {
	na, nb := newWire(nil)
	s := qemuLikeServer()
	s.ignoreRequests = true
	srv := serveDHCP(t, nb, s)
	opts := fastOptions()
	opts.RequestTries = 2
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, st, err := DHCP(ctx, na, opts)
	if !errors.Is(err, ErrNoLease) {
		t.Fatalf("DHCP = %v, want ErrNoLease", err)
	}
	srv.close(t)
	msgs := srv.messages()
	restarts := 0
	for i := 1; i < len(msgs); i++ {
		prev, m := msgs[i-1], msgs[i]
		switch {
		case prev.msgType == dhcpRequest && m.msgType == dhcpDiscover:
			restarts++
			if m.xid == prev.xid {
				t.Errorf("message %d: a DISCOVER after REQUESTs kept the xid", i)
			}
		case m.msgType == dhcpRequest && i >= 2 && prev.msgType == dhcpRequest && msgs[i-2].msgType == dhcpRequest:
			t.Errorf("message %d: more than %d REQUESTs in a row", i, opts.RequestTries)
		case m.msgType == dhcpDiscover && prev.msgType == dhcpDiscover:
			t.Errorf("message %d: a DISCOVER again although an OFFER came", i)
		}
	}
	if restarts == 0 || st.Offers < 2 {
		t.Fatalf("stats %+v, %d restarts: want the client to start again after %d REQUESTs", st, restarts, opts.RequestTries)
	}
}

// noiseFrames are frames a client must not take for an answer to m: each
// is a copy of s's right answer with one thing wrong, or other traffic.
// malformed counts those that are DHCP replies that do not parse.
func noiseFrames(s *testServer, m clientMsg) (frames [][]byte, malformed int) {
	// The right answer's type to the other message, so that it is wrong
	// in the state the client is in.
	t := byte(dhcpAck)
	if m.msgType == dhcpRequest {
		t = dhcpOffer
	}
	wrongType := s.reply(m, t)
	good := dhcpOffer
	if m.msgType == dhcpRequest {
		good = dhcpAck
	}
	other := *s
	other.offer = netip.MustParseAddr("10.0.2.99")
	variant := func(mut func(m *clientMsg)) []byte {
		mm := m
		mut(&mm)
		return other.reply(mm, byte(good))
	}
	wrongXID := variant(func(m *clientMsg) { m.xid++ })
	wrongCHAddr := variant(func(m *clientMsg) { m.chaddr[5] ^= 1 })
	otherHost := other.reply(m, byte(good))
	copy(otherHost[0:6], []byte{0x02, 0, 0, 0, 0, 0x77}) // unicast to another MAC
	noServerID := buildServerFrame(m.xid, m.chaddr, other.offer, s.id, tcpip.LinkAddress(m.chaddr[:]), other.offer,
		[]byte{optMessageType, 1, byte(good), optEnd})
	arp := make([]byte, 42)
	copy(arp, header.EthernetBroadcastAddress)
	arp[12], arp[13] = 0x08, 0x06
	ipv6 := slices.Clone(otherHost)
	copy(ipv6[0:6], m.chaddr[:])
	ipv6[12], ipv6[13] = 0x86, 0xdd
	fragment := other.reply(m, byte(good))
	fragment[header.EthernetMinimumSize+6] |= 0x20 // more fragments
	frames = [][]byte{wrongType, wrongXID, wrongCHAddr, otherHost, noServerID, arp, ipv6, fragment, {1, 2, 3}}

	badSum := other.reply(m, byte(good))
	badSum[len(badSum)-2] ^= 0x40 // in the options: the UDP checksum no longer holds
	opts := dhcpFrameStart + bootpOptions
	runaway := buildServerFrame(m.xid, m.chaddr, other.offer, s.id, tcpip.LinkAddress(m.chaddr[:]), other.offer,
		[]byte{optMessageType, 1, byte(good), optServerID, 4, 10, 0, 2, 2, optRouter, 200, 10, 0})
	badMask := buildServerFrame(m.xid, m.chaddr, other.offer, s.id, tcpip.LinkAddress(m.chaddr[:]), other.offer,
		[]byte{optMessageType, 1, byte(good), optServerID, 4, 10, 0, 2, 2, optSubnetMask, 4, 255, 0, 255, 0, optEnd})
	noCookie := other.reply(m, byte(good))
	noCookie[opts-1] = 0
	// (the UDP checksum of noCookie is wrong too; either makes it malformed)
	noType := buildServerFrame(m.xid, m.chaddr, other.offer, s.id, tcpip.LinkAddress(m.chaddr[:]), other.offer,
		[]byte{optServerID, 4, 10, 0, 2, 2, optEnd})
	bad := [][]byte{badSum, runaway, badMask, noCookie, noType}
	return append(frames, bad...), len(bad)
}

// TestDHCPIgnoresNoise: before each answer the server sends frames that
// are not answers to the client (other traffic, other transactions,
// other hosts, the wrong message type) and DHCP replies that do not
// parse; the client counts them, takes none, and gets the right lease.
func TestDHCPIgnoresNoise(t *testing.T) {
	na, nb := newWire(nil)
	s := qemuLikeServer()
	var nFrames, nMalformed int
	s.noise = func(s *testServer, m clientMsg) [][]byte {
		f, bad := noiseFrames(s, m)
		nFrames, nMalformed = len(f), bad
		return f
	}
	srv := serveDHCP(t, nb, s)
	l, st, err := dhcp(t, na, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv.close(t)
	if l.Address != QEMUGuest || l.Server != QEMUGateway {
		t.Fatalf("lease %v, want %v from %v", l, QEMUGuest, QEMUGateway)
	}
	// Noise came before the OFFER and before the ACK.
	if st.Malformed != uint64(2*nMalformed) || st.Ignored != uint64(2*(nFrames-nMalformed)) {
		t.Fatalf("stats %+v: want %d malformed and %d ignored", st, 2*nMalformed, 2*(nFrames-nMalformed))
	}
	if st.Discovers != 1 || st.Requests != 1 {
		t.Fatalf("stats %+v: the noise made the client send again", st)
	}
}

// TestDHCPTwoServers: two servers offer; the client takes the first offer
// and asks its server only, naming it; the other server's OFFER and its
// NAK of a REQUEST not addressed to it are ignored.
func TestDHCPTwoServers(t *testing.T) {
	for _, first := range []int{0, 1} {
		na, nb := newWire(nil)
		a := qemuLikeServer()
		a.nakOthers = true
		b := &testServer{id: netip.MustParseAddr("10.0.2.3"), offer: netip.MustParseAddr("10.0.2.50"),
			router: netip.MustParseAddr("10.0.2.3"), maskBits: 24, lease: 3600, nakOthers: true, broadcast: true}
		servers := []*testServer{a, b}
		if first == 1 {
			servers = []*testServer{b, a}
		}
		srv := serveDHCP(t, nb, servers...)
		l, st, err := dhcp(t, na, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		srv.close(t)
		w := servers[0]
		if l.Server != w.id || l.Address.Addr() != w.offer || l.Gateway != w.router {
			t.Fatalf("lease %v, want the first offer's: %v from %v", l, w.offer, w.id)
		}
		if st.Naks != 0 || st.Offers != 1 || st.Requests != 1 || st.Ignored != 2 {
			t.Fatalf("stats %+v: want the second OFFER and the other server's NAK ignored", st)
		}
		if m := srv.messages(); len(m) != 2 || m[1].serverID != w.id || m[1].requested != w.offer {
			t.Fatalf("messages %+v: want one REQUEST naming the first server", m)
		}
	}
}

// TestRetransmitWait: RFC 2131 4.1's back-off: 4 s, doubled up to 64 s,
// each moved by up to ±1 s.
func TestRetransmitWait(t *testing.T) {
	c, err := newDHCPClient(&wireNIC{mac: []byte{2, 0, 0, 0, 0, 1}}, DHCPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range []time.Duration{4, 8, 16, 32, 64, 64, 64} {
		want *= time.Second
		for _, r := range []float64{-1, 0, 1} {
			if got := retransmitWait(c.opts, n+1, r); got != want+time.Duration(r*float64(time.Second)) {
				t.Errorf("wait after sending %d, random %v: %v, want %v%+v s", n+1, r, got, want, r)
			}
		}
	}
	if got := retransmitWait(fastOptions(), 10, 0); got != 80*time.Millisecond {
		t.Errorf("wait with MaxRetransmit 80ms: %v", got)
	}
	if _, err := newDHCPClient(&wireNIC{mac: []byte{1, 0, 0x5e, 0, 0, 1}}, DHCPOptions{}); !errors.Is(err, ErrConfig) {
		t.Errorf("a multicast MAC: %v, want ErrConfig", err)
	}
}

// TestParseDHCPReply: the parser reads what the test server builds and
// the options it knows.
func TestParseDHCPReply(t *testing.T) {
	s := qemuLikeServer()
	s.t1, s.t2 = 100, 200
	m := clientMsg{xid: 0x1234abcd, chaddr: [6]byte{2, 0, 0, 0, 0, 0x0a}}
	r, err := parseDHCPReply(s.reply(m, dhcpAck))
	if err != nil {
		t.Fatal(err)
	}
	want := dhcpReply{dst: m.chaddr, xid: m.xid, chaddr: m.chaddr, yiaddr: s.offer, msgType: dhcpAck, serverID: s.id,
		router: s.router, maskBits: 24, leaseTime: 86400, t1: 100, t2: 200, hasLease: true, hasT1: true, hasT2: true}
	if r != want {
		t.Fatalf("parsed %+v, want %+v", r, want)
	}
	// The client's own DISCOVER is not a reply.
	c, _ := newDHCPClient(&wireNIC{mac: m.chaddr[:]}, DHCPOptions{})
	c.xid = m.xid
	if _, err := parseDHCPReply(c.buf[:c.build(dhcpDiscover)]); !errors.Is(err, errNotDHCP) {
		t.Fatalf("parsing a DISCOVER: %v, want errNotDHCP", err)
	}
}

// FuzzParseDHCPReply: no input makes the parser panic, and what it
// accepts is a reply with a message type and a sane prefix length.
func FuzzParseDHCPReply(f *testing.F) {
	s := qemuLikeServer()
	s.t1 = 7
	m := clientMsg{xid: 1, chaddr: [6]byte{2, 0, 0, 0, 0, 0x0a}}
	for _, t := range []byte{dhcpOffer, dhcpAck, dhcpNak} {
		f.Add(s.reply(m, t))
	}
	frames, _ := noiseFrames(s, m)
	for _, fr := range frames {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := parseDHCPReply(frame)
		if err != nil {
			return
		}
		if r.msgType == 0 || r.maskBits < -1 || r.maskBits > 32 || !r.yiaddr.Is4() {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// busyNIC always has a frame: the wire's, or else an ARP broadcast.
type busyNIC struct{ *wireNIC }

func (b busyNIC) Receive() []byte {
	if f := b.wireNIC.Receive(); f != nil {
		return f
	}
	arp := make([]byte, 42)
	copy(arp, header.EthernetBroadcastAddress)
	arp[12], arp[13] = 0x08, 0x06
	return arp
}

// TestDHCPRetransmitsOnABusyWire: frames that never stop coming (none an
// answer) do not hold back the retransmissions.
func TestDHCPRetransmitsOnABusyWire(t *testing.T) {
	na, _ := newWire(nil)
	_, st, err := dhcp(t, busyNIC{na}, 300*time.Millisecond)
	if !errors.Is(err, ErrNoLease) || st.Discovers < 2 || st.Ignored == 0 {
		t.Fatalf("DHCP = %v, stats %+v: want at least two DISCOVERs among the flood", err, st)
	}
}
