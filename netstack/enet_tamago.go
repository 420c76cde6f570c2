//go:build tamago

package netstack

import (
	"errors"
	"net"
	"sync"

	"github.com/usbarmory/tamago/soc/nxp/enet"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

// enetNIC is the NIC of an i.MX6UL ENET MAC (IMX6ULRM chapter 22, 10/100
// Mbps Ethernet MAC), through TamaGo's soc/nxp/enet driver: legacy buffer
// descriptors (IMX6ULRM chapter 22, the legacy buffer descriptors:
// enhanced descriptors off, ECR[EN1588] clear), the MAC appending the FCS on transmit (TxBD TC bit) and the
// driver stripping it on receive. The driver polls; no interrupt is used.
type enetNIC struct {
	hw *enet.ENET
}

func (n enetNIC) MAC() net.HardwareAddr { return n.hw.MAC }

// Transmit copies frame into the next transmit buffer descriptor and sets
// TDAR (IMX6ULRM chapter 22, ENET memory map: Transmit Descriptor Active
// Register) so the MAC
// sends it.
func (n enetNIC) Transmit(frame []byte) error {
	if len(frame) > enet.MTU {
		return errors.New("netstack: frame larger than the ENET's MTU")
	}
	n.hw.Tx(frame)
	return nil
}

// Receive takes the next filled receive buffer descriptor, if any, and sets
// RDAR (IMX6ULRM chapter 22, ENET memory map: Receive Descriptor Active
// Register) so the MAC
// goes on filling the ring. The driver copies the frame out of the DMA
// buffer rounded up to 8 bytes; a frame is at most MaxFrameSize bytes
// (RCR[MAX_FL] is 1518 with the FCS), so longer is padding, cut here. The
// IP layer ignores the padding of shorter frames (it reads IP's total
// length).
func (n enetNIC) Receive() []byte {
	f := n.hw.Rx()
	if len(f) > MaxFrameSize {
		f = f[:MaxFrameSize]
	}
	return f
}

var (
	enet1Once sync.Once
	enet1     enetNIC
)

// ENET1 returns the first Ethernet MAC of the i.MX6UL (QEMU's
// mcimx6ul-evk attaches -nic user to it), initialised with mac on the first
// call. The ENET is initialised once only: a second soft reset
// (ECR[RESET], IMX6ULRM chapter 22, Ethernet Control Register) followed by Init stops reception under
// QEMU, so later calls return the same NIC and ignore mac. The board
// package (TamaGo's board/nxp/mx6ullevk, imported by tamach's board/qemu)
// supplies the PHY set-up; the USB armory Mk II has no ENET.
func ENET1(mac net.HardwareAddr) (NIC, error) {
	if imx6ul.ENET1 == nil {
		return nil, errors.New("netstack: this SoC has no ENET1")
	}
	if len(mac) != 6 || mac[0]&1 != 0 {
		return nil, errors.New("netstack: the MAC address must be a unicast Ethernet address")
	}
	enet1Once.Do(func() {
		hw := imx6ul.ENET1
		hw.MAC = append(net.HardwareAddr(nil), mac...)
		hw.Init()
		// Start without the driver's receive loop: the Stack polls
		// through Receive.
		hw.Start(false)
		enet1 = enetNIC{hw: hw}
	})
	return enet1, nil
}
