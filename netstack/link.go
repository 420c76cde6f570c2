package netstack

import (
	"net"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// MTU is the IP MTU of an Ethernet link: 1500 bytes.
const MTU = 1500

// MaxFrameSize is the largest frame the endpoint sends or accepts: the
// Ethernet header and an MTU of payload, without the frame check sequence
// (the MAC adds and strips it).
const MaxFrameSize = header.EthernetMinimumSize + MTU

// NIC is a network interface that moves whole Ethernet frames (without the
// frame check sequence).
type NIC interface {
	// MAC is the interface's hardware address.
	MAC() net.HardwareAddr
	// Transmit sends one frame. The NIC must not keep frame after it
	// returns.
	Transmit(frame []byte) error
	// Receive returns the next frame received, or nil if none is waiting.
	// The caller owns the slice.
	Receive() []byte
}

// LinkStats counts what the endpoint did.
type LinkStats struct {
	FramesIn, FramesOut uint64 // delivered to the stack; handed to the NIC
	BytesIn, BytesOut   uint64
	DroppedIn           uint64 // too short, too long, or before attachment
	DroppedOut          uint64 // too long, or the NIC refused it
}

// Endpoint is a gVisor link endpoint (stack.LinkEndpoint) over a NIC,
// speaking Ethernet II.
type Endpoint struct {
	nic NIC

	mu         sync.Mutex // guards dispatcher, addr, mtu, onClose
	dispatcher stack.NetworkDispatcher
	addr       tcpip.LinkAddress
	mtu        uint32
	onClose    func()

	txMu  sync.Mutex // guards txBuf and the NIC's Transmit
	txBuf []byte

	framesIn, framesOut, bytesIn, bytesOut, droppedIn, droppedOut atomic.Uint64
}

var _ stack.LinkEndpoint = (*Endpoint)(nil)

// NewEndpoint returns an endpoint over nic with the NIC's MAC address.
func NewEndpoint(nic NIC) *Endpoint {
	return &Endpoint{
		nic:   nic,
		addr:  tcpip.LinkAddress(nic.MAC()),
		mtu:   MTU,
		txBuf: make([]byte, MaxFrameSize),
	}
}

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() LinkStats {
	return LinkStats{
		FramesIn: e.framesIn.Load(), FramesOut: e.framesOut.Load(),
		BytesIn: e.bytesIn.Load(), BytesOut: e.bytesOut.Load(),
		DroppedIn: e.droppedIn.Load(), DroppedOut: e.droppedOut.Load(),
	}
}

// Poll takes one frame from the NIC and delivers it to the stack. It
// reports whether there was a frame (delivered or dropped).
func (e *Endpoint) Poll() bool {
	frame := e.nic.Receive()
	if frame == nil {
		return false
	}
	e.deliver(frame)
	return true
}

// deliver hands one received frame to the stack.
func (e *Endpoint) deliver(frame []byte) {
	e.mu.Lock()
	d, self := e.dispatcher, e.addr
	e.mu.Unlock()
	if d == nil || len(frame) < header.EthernetMinimumSize || len(frame) > MaxFrameSize {
		e.droppedIn.Add(1)
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	defer pkt.DecRef()
	if !e.ParseHeader(pkt) {
		e.droppedIn.Add(1)
		return
	}
	eth := header.Ethernet(pkt.LinkHeader().Slice())
	switch dst := eth.DestinationAddress(); {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst == self:
		pkt.PktType = tcpip.PacketHost
	default:
		pkt.PktType = tcpip.PacketOtherHost
	}
	e.framesIn.Add(1)
	e.bytesIn.Add(uint64(len(frame)))
	d.DeliverNetworkPacket(eth.Type(), pkt)
}

// WritePackets implements stack.LinkWriter: each packet (its link header
// already added by AddHeader) goes to the NIC as one frame.
func (e *Endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.txMu.Lock()
	defer e.txMu.Unlock()
	n := 0
	for _, pkt := range pkts.AsSlice() {
		size := pkt.Size()
		if size > len(e.txBuf) {
			e.droppedOut.Add(1)
			if n == 0 {
				return 0, &tcpip.ErrMessageTooLong{}
			}
			return n, nil
		}
		off := 0
		for _, s := range pkt.AsSlices() {
			off += copy(e.txBuf[off:], s)
		}
		if err := e.nic.Transmit(e.txBuf[:off]); err != nil {
			e.droppedOut.Add(1)
			if n == 0 {
				return 0, &tcpip.ErrClosedForSend{}
			}
			return n, nil
		}
		e.framesOut.Add(1)
		e.bytesOut.Add(uint64(off))
		n++
	}
	return n, nil
}

// MTU implements stack.NetworkLinkEndpoint.
func (e *Endpoint) MTU() uint32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mtu
}

// SetMTU implements stack.NetworkLinkEndpoint; the MTU stays at most MTU,
// the size of the transmit buffer.
func (e *Endpoint) SetMTU(mtu uint32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mtu = min(mtu, MTU)
}

// MaxHeaderLength implements stack.NetworkLinkEndpoint.
func (*Endpoint) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.NetworkLinkEndpoint.
func (e *Endpoint) LinkAddress() tcpip.LinkAddress {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addr
}

// SetLinkAddress implements stack.NetworkLinkEndpoint. It changes the
// address the endpoint writes and accepts, not the NIC's filter.
func (e *Endpoint) SetLinkAddress(addr tcpip.LinkAddress) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.addr = addr
}

// Capabilities implements stack.NetworkLinkEndpoint: neighbours are
// resolved with ARP; checksums are the stack's.
func (*Endpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired
}

// Attach implements stack.NetworkLinkEndpoint.
func (e *Endpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dispatcher = d
}

// IsAttached implements stack.NetworkLinkEndpoint.
func (e *Endpoint) IsAttached() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dispatcher != nil
}

// Wait implements stack.NetworkLinkEndpoint. The endpoint owns no
// goroutine (the Stack's receive loop is the Stack's).
func (*Endpoint) Wait() {}

// ARPHardwareType implements stack.NetworkLinkEndpoint.
func (*Endpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.NetworkLinkEndpoint: the Ethernet II header
// from the packet's route.
func (e *Endpoint) AddHeader(pkt *stack.PacketBuffer) {
	src := pkt.EgressRoute.LocalLinkAddress
	if src == "" {
		src = e.LinkAddress()
	}
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{SrcAddr: src, DstAddr: pkt.EgressRoute.RemoteLinkAddress, Type: pkt.NetworkProtocolNumber})
}

// ParseHeader implements stack.NetworkLinkEndpoint.
func (*Endpoint) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// Close implements stack.NetworkLinkEndpoint: it runs the close action.
func (e *Endpoint) Close() {
	e.mu.Lock()
	f := e.onClose
	e.onClose = nil
	e.mu.Unlock()
	if f != nil {
		f()
	}
}

// SetOnCloseAction implements stack.NetworkLinkEndpoint.
func (e *Endpoint) SetOnCloseAction(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.onClose = f
}
