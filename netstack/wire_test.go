package netstack

import (
	"net"
	"sync"
	"sync/atomic"
)

// wireNIC is one end of an Ethernet cable in memory: what one end
// transmits, the other receives, unless the cable's drop function says the
// frame is lost on the way.
type wireNIC struct {
	mac   net.HardwareAddr
	in    chan []byte
	peer  *wireNIC
	drop  func(n uint64) bool // n counts the frames sent on this cable, from 1
	sent  *atomic.Uint64
	mu    sync.Mutex
	lost  uint64
	full  uint64
	shut  atomic.Bool
	taken atomic.Uint64
}

// newWire returns two NICs joined by one cable; drop (may be nil) loses
// the frames it returns true for.
func newWire(drop func(n uint64) bool) (*wireNIC, *wireNIC) {
	var sent atomic.Uint64
	a := &wireNIC{mac: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}, in: make(chan []byte, 512), drop: drop, sent: &sent}
	b := &wireNIC{mac: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}, in: make(chan []byte, 512), drop: drop, sent: &sent}
	a.peer, b.peer = b, a
	return a, b
}

func (w *wireNIC) MAC() net.HardwareAddr { return w.mac }

func (w *wireNIC) Transmit(frame []byte) error {
	if w.shut.Load() {
		return net.ErrClosed
	}
	n := w.sent.Add(1)
	if w.drop != nil && w.drop(n) {
		w.mu.Lock()
		w.lost++
		w.mu.Unlock()
		return nil
	}
	select {
	case w.peer.in <- append([]byte(nil), frame...):
	default: // a full queue loses the frame, as a NIC's ring does
		w.mu.Lock()
		w.full++
		w.mu.Unlock()
	}
	return nil
}

func (w *wireNIC) Receive() []byte {
	select {
	case f := <-w.in:
		w.taken.Add(1)
		return f
	default:
		return nil
	}
}

// inject puts a frame in w's receive queue as if the peer had sent it.
func (w *wireNIC) inject(frame []byte) { w.in <- frame }
