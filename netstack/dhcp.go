package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"time"
)

// DHCP message types (RFC 2132 9.6, option 53).
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6
)

// DHCP options the client writes or reads (RFC 2132).
const (
	optPad         = 0
	optSubnetMask  = 1
	optRouter      = 3
	optRequestedIP = 50
	optLeaseTime   = 51
	optMessageType = 53
	optServerID    = 54
	optParamList   = 55
	optRenewalT1   = 58
	optRebindingT2 = 59
	optEnd         = 255
)

// UDP ports of BOOTP and DHCP (RFC 2131 4.1).
const (
	dhcpServerPort = 67
	dhcpClientPort = 68
)

// Offsets in a BOOTP message (RFC 2131 figure 1).
const (
	bootpOp      = 0
	bootpHType   = 1
	bootpHLen    = 2
	bootpXID     = 4
	bootpSecs    = 8
	bootpCIAddr  = 12
	bootpYIAddr  = 16
	bootpCHAddr  = 28
	bootpCookie  = 236
	bootpOptions = 240
	// bootpMinSize is the smallest BOOTP message the client sends: relays
	// and old servers drop shorter ones (RFC 1542 2.1).
	bootpMinSize = 300
)

// dhcpCookie is the magic cookie before the options (RFC 2131 3).
var dhcpCookie = [4]byte{99, 130, 83, 99}

// Frame layout of a DHCP message on Ethernet: Ethernet II, an IPv4 header
// without options, UDP.
const (
	ethHeaderSize  = 14
	ipv4HeaderSize = 20
	udpHeaderSize  = 8
	dhcpFrameStart = ethHeaderSize + ipv4HeaderSize + udpHeaderSize
)

// LeaseInfinite is Lease.LeaseTime for a lease without end (RFC 2132 9.2:
// 0xffffffff seconds), or an ACK without a lease time.
const LeaseInfinite = time.Duration(math.MaxInt64)

// Lease is an IPv4 configuration obtained by DHCP.
type Lease struct {
	// Address is the leased address with the subnet's prefix (option 1;
	// without it, the address's class: /8, /16 or /24).
	Address netip.Prefix
	// Gateway is the first router of option 3, if the server gave one.
	Gateway netip.Addr
	// Server is the DHCP server that granted the lease (option 54).
	Server netip.Addr
	// LeaseTime is the lease's duration (option 51), or LeaseInfinite.
	LeaseTime time.Duration
	// Renewal and Rebinding are T1 and T2 (options 58 and 59; without
	// them 0.5 and 0.875 of LeaseTime, RFC 2131 4.4.5).
	Renewal, Rebinding time.Duration
	// Start is when the REQUEST that won the lease was first sent: the
	// lease runs from there (RFC 2131 4.4.1).
	Start time.Time
}

// Config returns the stack configuration of the lease, for New.
func (l Lease) Config() Config {
	return Config{Address: l.Address, Gateway: l.Gateway}
}

// Expiry is when the lease ends; the zero time for an infinite lease.
func (l Lease) Expiry() time.Time {
	if l.LeaseTime == LeaseInfinite {
		return time.Time{}
	}
	return l.Start.Add(l.LeaseTime)
}

// DHCPOptions tunes DHCP. The zero value follows RFC 2131 4.1.
type DHCPOptions struct {
	// Retransmit is the first wait for a reply before a message is sent
	// again; each later wait is twice the one before, up to
	// MaxRetransmit, and every wait is moved by a uniform random amount
	// within ±Retransmit/4. Zero means 4 s (so ±1 s), as RFC 2131 4.1
	// gives for 10 Mb/s Ethernet.
	Retransmit time.Duration
	// MaxRetransmit caps the wait. Zero means 64 s.
	MaxRetransmit time.Duration
	// RequestTries is how many times a REQUEST is sent without an answer
	// before the client starts again with a DISCOVER. Zero means 4.
	RequestTries int
	// Idle is called when no frame is waiting. Nil sleeps IdleSleep.
	Idle func()
}

// DHCPStats counts what one DHCP call did.
type DHCPStats struct {
	Discovers, Requests uint64 // messages sent, retransmissions included
	Offers              uint64 // offers taken (one per DISCOVER round that got one)
	Naks                uint64 // NAKs from the chosen server
	Ignored             uint64 // frames that were not an answer to the client
	Malformed           uint64 // DHCP replies (UDP 67 to 68) that did not parse
}

// ErrNoLease is returned (wrapped, with the context's error) by DHCP when
// the context ends before a server granted a lease.
var ErrNoLease = errors.New("netstack: DHCP: no lease")

// DHCP obtains an IPv4 lease on nic: DISCOVER, OFFER, REQUEST, ACK (RFC
// 2131 3.1), each message broadcast from 0.0.0.0:68 to
// 255.255.255.255:67 in an Ethernet frame the client builds itself. It
// must run before a Stack is made on nic: it takes every frame nic
// receives, and drops all but the answers to it. ctx bounds the whole
// exchange: DHCP sends again with the back-off of DHCPOptions until ctx
// ends, then returns ErrNoLease. The stats are filled in either way.
func DHCP(ctx context.Context, nic NIC, opts DHCPOptions) (Lease, DHCPStats, error) {
	c, err := newDHCPClient(nic, opts)
	if err != nil {
		return Lease{}, DHCPStats{}, err
	}
	l, err := c.run(ctx)
	return l, c.stats, err
}

// dhcpState is where the client is in RFC 2131 figure 5.
type dhcpState int

const (
	selecting  dhcpState = iota // DISCOVER sent, waiting for an OFFER
	requesting                  // REQUEST sent, waiting for ACK or NAK
)

type dhcpClient struct {
	nic   NIC
	mac   [6]byte
	opts  DHCPOptions
	buf   []byte
	start time.Time
	stats DHCPStats

	state   dhcpState
	xid     uint32
	tries   int       // messages sent in this state
	offer   dhcpReply // the OFFER taken, in requesting
	reqTime time.Time // first REQUEST of this offer
	next    time.Time // when to send again
}

func newDHCPClient(nic NIC, opts DHCPOptions) (*dhcpClient, error) {
	mac := nic.MAC()
	if len(mac) != 6 || mac[0]&1 != 0 {
		return nil, fmt.Errorf("%w: MAC address %v is not a unicast Ethernet address", ErrConfig, mac)
	}
	if opts.Retransmit <= 0 {
		opts.Retransmit = 4 * time.Second
	}
	if opts.MaxRetransmit <= 0 {
		opts.MaxRetransmit = 64 * time.Second
	}
	opts.MaxRetransmit = max(opts.MaxRetransmit, opts.Retransmit)
	if opts.RequestTries <= 0 {
		opts.RequestTries = 4
	}
	if opts.Idle == nil {
		opts.Idle = func() { time.Sleep(IdleSleep) }
	}
	c := &dhcpClient{nic: nic, opts: opts, buf: make([]byte, dhcpFrameStart+bootpMinSize)}
	copy(c.mac[:], mac)
	return c, nil
}

// retransmitWait is the wait after the n-th sending (from 1) of a message:
// Retransmit doubled n-1 times, at most MaxRetransmit, moved by r (in
// [-1, 1]) times Retransmit/4.
func retransmitWait(opts DHCPOptions, n int, r float64) time.Duration {
	w := opts.Retransmit
	for i := 1; i < n && w < opts.MaxRetransmit; i++ {
		w *= 2
	}
	w = min(w, opts.MaxRetransmit)
	return w + time.Duration(r*float64(opts.Retransmit/4))
}

func (c *dhcpClient) run(ctx context.Context) (Lease, error) {
	c.start = time.Now()
	if err := c.discover(); err != nil {
		return Lease{}, err
	}
	deadline, hasDeadline := ctx.Deadline()
	for {
		err := ctx.Err()
		if err == nil && hasDeadline && !time.Now().Before(deadline) {
			// The deadline by the clock too: on a runtime without
			// preemption (TamaGo) the context's timer may not have run.
			err = context.DeadlineExceeded
		}
		if err != nil {
			return Lease{}, fmt.Errorf("%w after %d DISCOVERs, %d offers, %d REQUESTs, %d NAKs: %w",
				ErrNoLease, c.stats.Discovers, c.stats.Offers, c.stats.Requests, c.stats.Naks, err)
		}
		// The wait is checked before every frame, so that a busy network
		// does not hold back a retransmission.
		if !time.Now().Before(c.next) {
			if err := c.timeout(); err != nil {
				return Lease{}, err
			}
			continue
		}
		frame := c.nic.Receive()
		if frame == nil {
			c.opts.Idle()
			continue
		}
		if l, done, err := c.receive(frame); done || err != nil {
			return l, err
		}
		// Let other goroutines run while frames keep coming: TamaGo
		// does not preempt.
		runtime.Gosched()
	}
}

// discover starts again from INIT: a new transaction, a DISCOVER.
func (c *dhcpClient) discover() error {
	c.state, c.xid, c.tries = selecting, rand.Uint32(), 0
	return c.send()
}

// timeout sends again, or gives up the offer after RequestTries
// REQUESTs.
func (c *dhcpClient) timeout() error {
	if c.state == requesting && c.tries >= c.opts.RequestTries {
		return c.discover()
	}
	return c.send()
}

// send sends the message of the state and sets the time to send again.
func (c *dhcpClient) send() error {
	c.tries++
	var n int
	if c.state == selecting {
		n = c.build(dhcpDiscover)
		c.stats.Discovers++
	} else {
		if c.tries == 1 {
			c.reqTime = time.Now()
		}
		n = c.build(dhcpRequest)
		c.stats.Requests++
	}
	if err := c.nic.Transmit(c.buf[:n]); err != nil {
		return fmt.Errorf("netstack: DHCP: transmit: %w", err)
	}
	c.next = time.Now().Add(retransmitWait(c.opts, c.tries, 2*rand.Float64()-1))
	return nil
}

// receive handles one frame; done is true with the lease.
func (c *dhcpClient) receive(frame []byte) (l Lease, done bool, err error) {
	r, err := parseDHCPReply(frame)
	switch {
	case errors.Is(err, errNotDHCP):
		c.stats.Ignored++
		return Lease{}, false, nil
	case err != nil:
		c.stats.Malformed++
		return Lease{}, false, nil
	}
	if (r.dst != c.mac && r.dst != broadcastMAC) || r.xid != c.xid || r.chaddr != c.mac {
		c.stats.Ignored++
		return Lease{}, false, nil
	}
	switch {
	case c.state == selecting && r.msgType == dhcpOffer && r.serverID.IsValid() && usableAddr(r.yiaddr):
		c.stats.Offers++
		c.state, c.offer, c.tries = requesting, r, 0
		return Lease{}, false, c.send()
	case c.state == requesting && r.serverID == c.offer.serverID && r.msgType == dhcpAck && usableAddr(r.yiaddr):
		return c.lease(r), true, nil
	case c.state == requesting && r.serverID == c.offer.serverID && r.msgType == dhcpNak:
		c.stats.Naks++
		return Lease{}, false, c.discover()
	}
	c.stats.Ignored++
	return Lease{}, false, nil
}

// lease makes the lease of an ACK; what the ACK leaves out comes from the
// OFFER.
func (c *dhcpClient) lease(ack dhcpReply) Lease {
	return leaseOfAck(ack, c.offer.maskBits, c.offer.router, c.reqTime, time.Second)
}

// leaseOfAck makes the lease of an ACK to a REQUEST first sent at start;
// the prefix length and gateway the ACK leaves out are bits (-1: none,
// then the address's class) and router. second is the duration of one of
// the ACK's seconds (tests shorten it).
func leaseOfAck(ack dhcpReply, bits int, router netip.Addr, start time.Time, second time.Duration) Lease {
	if ack.maskBits >= 0 {
		bits = ack.maskBits
	}
	if bits < 0 {
		bits = classfulBits(ack.yiaddr)
	}
	l := Lease{
		Address: netip.PrefixFrom(ack.yiaddr, bits),
		Gateway: ack.router,
		Server:  ack.serverID,
		Start:   start,
	}
	if !l.Gateway.IsValid() {
		l.Gateway = router
	}
	secs := func(s uint32) time.Duration { return time.Duration(s) * second }
	l.LeaseTime = LeaseInfinite
	if ack.hasLease && ack.leaseTime != math.MaxUint32 {
		l.LeaseTime = secs(ack.leaseTime)
	}
	l.Renewal, l.Rebinding = LeaseInfinite, LeaseInfinite
	if l.LeaseTime != LeaseInfinite {
		l.Renewal, l.Rebinding = l.LeaseTime/2, l.LeaseTime/8*7
	}
	if ack.hasT1 && secs(ack.t1) < l.LeaseTime {
		l.Renewal = secs(ack.t1)
	}
	if ack.hasT2 && secs(ack.t2) < l.LeaseTime {
		l.Rebinding = secs(ack.t2)
	}
	return l
}

// usableAddr reports whether a is an address a host can take.
func usableAddr(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLoopback() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// classfulBits is the prefix of a's class (RFC 2131 leaves the default
// subnet mask to the client; RFC 1122 3.3.1.1 falls back on the class).
func classfulBits(a netip.Addr) int {
	switch b := a.As4()[0]; {
	case b < 128:
		return 8
	case b < 192:
		return 16
	}
	return 24
}

var broadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// build writes a DISCOVER or REQUEST frame into c.buf and returns its
// length.
func (c *dhcpClient) build(msgType byte) int {
	b := c.buf
	clear(b)
	// Ethernet II: broadcast, from the NIC, IPv4.
	copy(b[0:6], broadcastMAC[:])
	copy(b[6:12], c.mac[:])
	binary.BigEndian.PutUint16(b[12:14], 0x0800)

	req := bootpRequest{msgType: msgType, xid: c.xid, secs: time.Since(c.start), mac: c.mac}
	if msgType == dhcpRequest {
		req.requested, req.serverID = c.offer.yiaddr, c.offer.serverID
	}
	size := req.write(b[dhcpFrameStart:])

	udp := b[ethHeaderSize+ipv4HeaderSize:]
	binary.BigEndian.PutUint16(udp[0:], dhcpClientPort)
	binary.BigEndian.PutUint16(udp[2:], dhcpServerPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(udpHeaderSize+size))

	ip := b[ethHeaderSize:]
	ip[0] = 0x45 // version 4, 5 words of header
	binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HeaderSize+udpHeaderSize+size))
	ip[8], ip[9] = 64, 17 // TTL, UDP
	copy(ip[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(ip[10:], ^onesSum(0, ip[:ipv4HeaderSize]))
	binary.BigEndian.PutUint16(udp[6:], udpChecksum(ip[12:16], ip[16:20], udp[:udpHeaderSize+size]))
	return dhcpFrameStart + size
}

// bootpRequest is a client's DHCP message.
type bootpRequest struct {
	msgType byte
	xid     uint32
	secs    time.Duration // since the client began to acquire or renew
	mac     [6]byte
	// ciaddr is the client's address, when it has one (RENEWING and
	// REBINDING, RFC 2131 4.3.2); requested and serverID are options 50
	// and 54, left out when invalid.
	ciaddr, requested, serverID netip.Addr
}

// write writes the BOOTP message of r into m, which is at least
// bootpMinSize bytes, and returns its length.
func (r bootpRequest) write(m []byte) int {
	clear(m[:bootpMinSize])
	m[bootpOp], m[bootpHType], m[bootpHLen] = 1, 1, 6 // BOOTREQUEST, Ethernet
	binary.BigEndian.PutUint32(m[bootpXID:], r.xid)
	binary.BigEndian.PutUint16(m[bootpSecs:], uint16(min(r.secs/time.Second, math.MaxUint16)))
	if r.ciaddr.IsValid() {
		ci := r.ciaddr.As4()
		copy(m[bootpCIAddr:], ci[:])
	}
	copy(m[bootpCHAddr:], r.mac[:])
	copy(m[bootpCookie:], dhcpCookie[:])
	o := m[bootpOptions:bootpOptions:len(m)]
	o = append(o, optMessageType, 1, r.msgType)
	if r.requested.IsValid() {
		a := r.requested.As4()
		o = append(append(o, optRequestedIP, 4), a[:]...)
	}
	if r.serverID.IsValid() {
		a := r.serverID.As4()
		o = append(append(o, optServerID, 4), a[:]...)
	}
	o = append(o, optParamList, 5, optSubnetMask, optRouter, optLeaseTime, optRenewalT1, optRebindingT2)
	o = append(o, optEnd)
	return max(bootpOptions+len(o), bootpMinSize)
}

// onesSum adds b to the one's complement sum s (RFC 1071).
func onesSum(s uint32, b []byte) uint16 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// udpChecksum is the checksum field of the UDP datagram seg (its checksum
// field zero) between src and dst (RFC 768): 0xffff for a sum of zero.
func udpChecksum(src, dst, seg []byte) uint16 {
	s := uint32(onesSum(0, src)) + uint32(onesSum(0, dst)) + 17 + uint32(len(seg))
	c := ^onesSum(s, seg)
	if c == 0 {
		c = 0xffff
	}
	return c
}

// dhcpReply is what the client reads of a BOOTREPLY.
type dhcpReply struct {
	dst       [6]byte // the Ethernet destination
	xid       uint32
	chaddr    [6]byte
	yiaddr    netip.Addr
	msgType   byte
	serverID  netip.Addr // invalid if absent
	router    netip.Addr // the first of option 3; invalid if absent
	maskBits  int        // -1 if absent
	leaseTime uint32
	t1, t2    uint32
	hasLease  bool
	hasT1     bool
	hasT2     bool
}

var (
	// errNotDHCP: the frame is not a UDP datagram from port 67 to 68.
	errNotDHCP = errors.New("not a DHCP reply")
	// errMalformed: it is, but it does not parse.
	errMalformed = errors.New("malformed DHCP reply")
)

// parseDHCPReply reads a DHCP reply frame: Ethernet II, IPv4 (header
// checksum checked; fragments refused), UDP from 67 to 68 (checksum
// checked unless zero), a BOOTREPLY for Ethernet with the magic cookie
// and a message type. Options in the sname and file fields (option 52)
// are not read.
func parseDHCPReply(f []byte) (dhcpReply, error) {
	var r dhcpReply
	if len(f) < ethHeaderSize || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
		return r, errNotDHCP
	}
	copy(r.dst[:], f[0:6])
	ip := f[ethHeaderSize:]
	if len(ip) < ipv4HeaderSize || ip[0]>>4 != 4 {
		return r, errNotDHCP
	}
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < ipv4HeaderSize || total < ihl || total > len(ip) {
		return r, errNotDHCP
	}
	ip = ip[:total] // cut the Ethernet padding
	if ip[9] != 17 || onesSum(0, ip[:ihl]) != 0xffff {
		return r, errNotDHCP
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // MF or a fragment offset
		return r, errNotDHCP
	}
	udp := ip[ihl:]
	if len(udp) < udpHeaderSize || binary.BigEndian.Uint16(udp[0:]) != dhcpServerPort || binary.BigEndian.Uint16(udp[2:]) != dhcpClientPort {
		return r, errNotDHCP
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	if ulen < udpHeaderSize || ulen > len(udp) {
		return r, fmt.Errorf("%w: UDP length %d of %d bytes", errMalformed, ulen, len(udp))
	}
	udp = udp[:ulen]
	if sum := binary.BigEndian.Uint16(udp[6:]); sum != 0 {
		s := uint32(onesSum(0, ip[12:16])) + uint32(onesSum(0, ip[16:20])) + 17 + uint32(ulen)
		if onesSum(s, udp) != 0xffff {
			return r, fmt.Errorf("%w: UDP checksum", errMalformed)
		}
	}
	return r, parseBOOTPReply(&r, udp[udpHeaderSize:])
}

// parseBOOTPReply reads the DHCP message m into r: a BOOTREPLY for
// Ethernet with the magic cookie and a message type.
func parseBOOTPReply(r *dhcpReply, m []byte) error {
	if len(m) < bootpOptions || m[bootpOp] != 2 || m[bootpHType] != 1 || m[bootpHLen] != 6 || [4]byte(m[bootpCookie:]) != dhcpCookie {
		return fmt.Errorf("%w: not a BOOTREPLY for Ethernet with the DHCP cookie", errMalformed)
	}
	r.xid = binary.BigEndian.Uint32(m[bootpXID:])
	r.yiaddr = netip.AddrFrom4([4]byte(m[bootpYIAddr:]))
	copy(r.chaddr[:], m[bootpCHAddr:])
	r.maskBits = -1
	opts := m[bootpOptions:]
	for len(opts) > 0 {
		code := opts[0]
		if code == optEnd {
			break
		}
		if code == optPad {
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
			return fmt.Errorf("%w: option %d runs past the message", errMalformed, code)
		}
		v := opts[2 : 2+int(opts[1])]
		opts = opts[2+len(v):]
		if err := r.option(code, v); err != nil {
			return err
		}
	}
	if r.msgType == 0 {
		return fmt.Errorf("%w: no message type", errMalformed)
	}
	return nil
}

// option reads one option of a reply.
func (r *dhcpReply) option(code byte, v []byte) error {
	bad := func() error { return fmt.Errorf("%w: option %d of %d bytes", errMalformed, code, len(v)) }
	switch code {
	case optMessageType:
		if len(v) != 1 || v[0] == 0 {
			return bad()
		}
		r.msgType = v[0]
	case optServerID:
		if len(v) != 4 {
			return bad()
		}
		r.serverID = netip.AddrFrom4([4]byte(v))
	case optRouter:
		if len(v) < 4 || len(v)%4 != 0 {
			return bad()
		}
		r.router = netip.AddrFrom4([4]byte(v))
	case optSubnetMask:
		if len(v) != 4 {
			return bad()
		}
		mask := binary.BigEndian.Uint32(v)
		ones := bits.LeadingZeros32(^mask)
		if mask != ^uint32(0)<<(32-ones) { // not contiguous
			return bad()
		}
		r.maskBits = ones
	case optLeaseTime, optRenewalT1, optRebindingT2:
		if len(v) != 4 {
			return bad()
		}
		s := binary.BigEndian.Uint32(v)
		switch code {
		case optLeaseTime:
			r.leaseTime, r.hasLease = s, true
		case optRenewalT1:
			r.t1, r.hasT1 = s, true
		default:
			r.t2, r.hasT2 = s, true
		}
	}
	return nil
}

// String names a lease for logs.
func (l Lease) String() string {
	t := "infinite"
	if l.LeaseTime != LeaseInfinite {
		t = l.LeaseTime.String()
	}
	gw := "none"
	if l.Gateway.IsValid() {
		gw = l.Gateway.String()
	}
	return fmt.Sprintf("address %v, gateway %s, server %v, lease %s", l.Address, gw, l.Server, t)
}
