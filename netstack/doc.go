// Package netstack gives tamach a TCP/IP stack on the board: gVisor's
// netstack (gvisor.dev/gvisor/pkg/tcpip) over a link endpoint of this
// package that moves Ethernet frames through a small NIC interface. On the
// target the NIC is the i.MX6UL ENET MAC (TamaGo's soc/nxp/enet driver,
// enet_tamago.go); on the host, tests give it a wire of their own, so the
// endpoint and the stack set-up are plain Go, tested without a board.
//
// The USB armory Mk II has no ENET; its network is Ethernet over USB (a
// CDC-ECM device on TamaGo's soc/nxp/usb driver, which the usbarmory
// imx-usbnet module provides upstream but is not available to this
// project). A NIC over it is not written yet: the stack runs under QEMU
// only.
//
// A Stack has one NIC with a static IPv4 address and a default route
// (QEMU's user network: 10.0.2.15/24, gateway 10.0.2.2, see QEMUConfig).
// Stack.DialTCP and Stack.Dialer give net.Conn values for package
// pager/nbd (Config.Dial) and package mo/moremote (NewClient), which take
// any net.Conn.
//
// # The link endpoint
//
// Endpoint is a stack.LinkEndpoint for Ethernet II: it adds and parses the
// 14-byte header itself, asks the stack for ARP resolution, and reports no
// checksum offload (the ENET's accelerator is not enabled, so the stack
// computes and checks every checksum). A frame out is copied into one
// buffer of MaxFrameSize bytes and handed to NIC.Transmit under the
// endpoint's transmit lock; the NIC must be done with it when Transmit
// returns. Frames in are taken by Endpoint.Poll, which the stack's receive
// goroutine (started by New) calls in a loop: a frame shorter than an
// Ethernet header, or larger than MaxFrameSize, is counted and dropped,
// never delivered. A frame that arrives before the stack attached the
// endpoint is dropped and counted too.
//
// # Lock order
//
// Endpoint.txMu is taken inside the stack's own locks (the stack calls
// WritePackets with its endpoint locks held) and never calls back into the
// stack while held. Endpoint.mu (the dispatcher and the link address) is
// a leaf. The receive goroutine holds no lock of this package while it
// delivers a frame to the stack.
package netstack
