package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// nicID is the number of the stack's only NIC.
const nicID tcpip.NICID = 1

// Config sets up a Stack.
type Config struct {
	// Address is the interface's IPv4 address and prefix.
	Address netip.Prefix
	// Gateway, if valid, is the default route's next hop.
	Gateway netip.Addr
	// Idle is called by the receive loop when no frame is waiting. Nil
	// sleeps IdleSleep.
	Idle func()
}

// IdleSleep is how long the receive loop sleeps when no frame is waiting
// and Config.Idle is nil.
const IdleSleep = 20 * time.Microsecond

// QEMU's user network (slirp): the guest's address, the gateway, and the
// address a guestfwd rule gives to a host port.
var (
	QEMUGuest     = netip.MustParsePrefix("10.0.2.15/24")
	QEMUGateway   = netip.MustParseAddr("10.0.2.2")
	QEMUForwarded = netip.MustParseAddr("10.0.2.100")
)

// QEMUConfig is the static set-up QEMU's user network expects.
func QEMUConfig() Config {
	return Config{Address: QEMUGuest, Gateway: QEMUGateway}
}

// Stats counts the stack's work: the link endpoint's frames, and the time
// spent in the stack.
type Stats struct {
	Link LinkStats
	// RxTime is the time spent delivering received frames through the
	// stack (Ethernet, ARP, IP, TCP, up to the socket's buffer).
	RxTime time.Duration
	// TxTime is the time spent in Write calls of the stack's connections
	// (TCP segmentation, IP, Ethernet, down to the NIC).
	TxTime time.Duration
	// Dials and DialTime: connections made by DialTCP and the time they
	// took together, from the first SYN to the established connection.
	Dials    uint64
	DialTime time.Duration
}

// Stack is a TCP/IP stack over one NIC.
type Stack struct {
	s    *stack.Stack
	ep   *Endpoint
	idle func()

	rxTime, txTime, dialTime, dials atomic.Int64
	stop                            chan struct{}
	stopped                         chan struct{}
	closeOnce                       sync.Once
}

// ErrConfig is returned by New for a configuration it cannot use.
var ErrConfig = errors.New("netstack: bad configuration")

// New makes a stack over nic with a static address and starts its receive
// loop. Close stops it.
func New(nic NIC, cfg Config) (*Stack, error) {
	if !cfg.Address.IsValid() || !cfg.Address.Addr().Is4() {
		return nil, fmt.Errorf("%w: address %v is not an IPv4 prefix", ErrConfig, cfg.Address)
	}
	if cfg.Gateway.IsValid() && (!cfg.Gateway.Is4() || !cfg.Address.Masked().Contains(cfg.Gateway)) {
		return nil, fmt.Errorf("%w: gateway %v is not in %v", ErrConfig, cfg.Gateway, cfg.Address.Masked())
	}
	if mac := nic.MAC(); len(mac) != 6 || mac[0]&1 != 0 {
		return nil, fmt.Errorf("%w: MAC address %v is not a unicast Ethernet address", ErrConfig, mac)
	}
	st := &Stack{
		s: stack.New(stack.Options{
			NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
			TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
		}),
		ep:      NewEndpoint(nic),
		idle:    cfg.Idle,
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if st.idle == nil {
		st.idle = func() { time.Sleep(IdleSleep) }
	}
	if err := st.s.CreateNIC(nicID, st.ep); err != nil {
		return nil, fmt.Errorf("netstack: creating the NIC: %v", err)
	}
	addr := tcpip.ProtocolAddress{
		Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{
			Address:   tcpip.AddrFrom4(cfg.Address.Addr().As4()),
			PrefixLen: cfg.Address.Bits(),
		},
	}
	if err := st.s.AddProtocolAddress(nicID, addr, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("netstack: adding %v: %v", cfg.Address, err)
	}
	subnet := addr.AddressWithPrefix.Subnet()
	routes := []tcpip.Route{{Destination: subnet, NIC: nicID}}
	if cfg.Gateway.IsValid() {
		routes = append(routes, tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: tcpip.AddrFrom4(cfg.Gateway.As4()), NIC: nicID})
	}
	st.s.SetRouteTable(routes)
	go st.receive()
	return st, nil
}

// receive delivers frames from the NIC to the stack until Close.
func (st *Stack) receive() {
	defer close(st.stopped)
	for {
		select {
		case <-st.stop:
			return
		default:
		}
		t0 := time.Now()
		if st.ep.Poll() {
			st.rxTime.Add(int64(time.Since(t0)))
			continue
		}
		st.idle()
	}
}

// Endpoint returns the stack's link endpoint.
func (st *Stack) Endpoint() *Endpoint { return st.ep }

// Stats returns the stack's counters.
func (st *Stack) Stats() Stats {
	return Stats{
		Link:   st.ep.Stats(),
		RxTime: time.Duration(st.rxTime.Load()), TxTime: time.Duration(st.txTime.Load()),
		Dials: uint64(st.dials.Load()), DialTime: time.Duration(st.dialTime.Load()),
	}
}

// DialTCP opens a TCP connection to addr. ctx bounds the connection's
// establishment only.
func (st *Stack) DialTCP(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	if !addr.Addr().Is4() {
		return nil, fmt.Errorf("netstack: dial %v: only IPv4", addr)
	}
	t0 := time.Now()
	c, err := gonet.DialContextTCP(ctx, st.s, tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(addr.Addr().As4()), Port: addr.Port()}, ipv4.ProtocolNumber)
	if err != nil {
		return nil, err
	}
	st.dials.Add(1)
	st.dialTime.Add(int64(time.Since(t0)))
	return &timedConn{TCPConn: c, tx: &st.txTime}, nil
}

// Dialer returns a dial function for addr, as pager/nbd's Config.Dial
// takes it.
func (st *Stack) Dialer(addr netip.AddrPort) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) { return st.DialTCP(ctx, addr) }
}

// ListenTCP listens on the stack's address at port.
func (st *Stack) ListenTCP(port uint16) (net.Listener, error) {
	return gonet.ListenTCP(st.s, tcpip.FullAddress{NIC: nicID, Port: port}, ipv4.ProtocolNumber)
}

// Close stops the receive loop and closes the stack's endpoints.
func (st *Stack) Close() {
	st.closeOnce.Do(func() {
		close(st.stop)
		<-st.stopped
		st.s.Close()
		st.s.Wait()
	})
}

// timedConn counts the time spent in Write: gVisor's TCP sends
// synchronously, down to the link endpoint, within the call.
type timedConn struct {
	*gonet.TCPConn
	tx *atomic.Int64
}

func (c *timedConn) Write(b []byte) (int, error) {
	t0 := time.Now()
	n, err := c.TCPConn.Write(b)
	c.tx.Add(int64(time.Since(t0)))
	return n, err
}
