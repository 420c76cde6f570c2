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
// A Stack has one NIC with an IPv4 address and, given a gateway, a
// default route, set when New makes it: static (QEMU's user network:
// 10.0.2.15/24, gateway 10.0.2.2, see QEMUConfig) or from a DHCP lease
// (Lease.Config), which Stack.KeepLease renews and, once lost, removes.
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
// # DHCP
//
// DHCP obtains a lease before the stack exists (RFC 2131 3.1): it builds
// and parses the Ethernet, IPv4 and UDP headers itself and sends DISCOVER
// and REQUEST broadcast from 0.0.0.0:68 to 255.255.255.255:67, so gVisor
// never has to send from an unspecified address. It polls the NIC itself
// and takes every frame: any that is not an answer to it (other traffic,
// another transaction id or client hardware address, a message type or
// server id it does not wait for) is counted and dropped, and a DHCP reply
// that does not parse (IPv4 header or UDP checksum wrong, an option past
// the end, a non-contiguous subnet mask, no message type) is counted as
// malformed. A message without an answer is sent again after 4 s, then 8,
// 16, 32, 64, 64..., each wait moved by a random ±1 s (RFC 2131 4.1;
// DHCPOptions scales them); the transaction id stays. The first OFFER
// with a server id and a usable address is taken; the REQUEST names that server and the offered
// address, and only its ACK or NAK counts. A NAK, or RequestTries
// REQUESTs without an answer, start again with a new DISCOVER and a new
// transaction id. The context bounds it all: at its end DHCP returns
// ErrNoLease with the counts of what it sent. The lease gives the address
// and prefix (option 1, or the address's class), the first router (option
// 3), the server (54), the lease time (51) and T1, T2 (58, 59).
//
// What it does not do: the lease is never released (no DHCPRELEASE); the
// offered address is not probed with ARP before use (no DECLINE); no
// INIT-REBOOT with a remembered address; options in the sname and file
// fields (option overload, 52) are not read; no client identifier (61),
// host name or DNS servers.
//
// # Keeping the lease
//
// Stack.KeepLease renews a lease through the running stack (RFC 2131
// 4.4.5): it binds a UDP endpoint to port 68 of the NIC (any address, so
// that broadcast answers reach it too) and at T1 unicasts a DHCPREQUEST
// with ciaddr set and neither a requested address nor a server id (RFC
// 2131 4.3.2) to the lease's server (RENEWING; the stack resolves the
// server's link address with ARP). Unanswered, the REQUEST is sent again
// after half the time left to T2, never sooner than RenewOptions.MinRetry
// (60 s). At T2 the REQUEST of the same transaction is broadcast to
// 255.255.255.255 (REBINDING), again after half the time left to the
// lease's end. Only an answer of the transaction (its xid, the NIC's
// chaddr; in RENEWING from the lease's server, in REBINDING from any) is
// taken; every other datagram to port 68 is counted, as ignored or, if
// it does not parse, malformed. An ACK for the leased address gives the
// new lease, counted from the first REQUEST of the transaction, and the
// cycle starts again at its T1 with a new transaction; a NAK, or the
// lease's end without an ACK, removes the address from the stack. Each
// renewal and the loss are sent on the channel KeepLease returns, with
// the counts; the channel is closed when KeepLease stops (after a loss,
// at the end of its context, or when the stack closes). The caller must
// read it: the next renewal waits until the event is taken.
//
// What it does not do: it does not apply a new subnet mask or router of an
// ACK (the event reports them; the stack keeps New's prefix and routes),
// takes no other address than the leased one, and after a loss does not
// go back to INIT: the caller closes the Stack and calls DHCP again. It
// waits on timers and on the endpoint's readiness, so it never spins.
//
// # Lock order
//
// Endpoint.txMu is taken inside the stack's own locks (the stack calls
// WritePackets with its endpoint locks held) and never calls back into the
// stack while held. Endpoint.mu (the dispatcher and the link address) is
// a leaf. The receive goroutine holds no lock of this package while it
// delivers a frame to the stack. DHCP takes no lock; it must not run on a
// NIC that a Stack's receive loop polls. KeepLease's goroutine holds no
// lock of this package while it writes to its UDP endpoint or removes the
// address.
package netstack
