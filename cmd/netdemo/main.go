//go:build tamago

// Command netdemo runs tamach over the network on a board with an ENET
// (QEMU's mcimx6ul-evk with user networking): the stack of package
// netstack on ENET1 at 10.0.2.15/24, and one of three runs.
//
//	netdemo [-dhcp] nbd|rtt|count [flags]
//
// With -dhcp the address and gateway come from a DHCP server
// (netstack.DHCP; QEMU's user network has one, which gives 10.0.2.15/24
// via 10.0.2.2), and the lease is printed and kept (Stack.KeepLease): each
// renewal, and the loss of the address, is printed too.
//
//	netdemo nbd [-server 10.0.2.100:10809] [-export tamach] [-frames 2] [-times 4]
//
// pages anonymous memory of -times the kernel's frames to an NBD server
// (the default pager over a pager/nbd store): two rounds of write every
// word, then read and verify every word. It prints "nbd: midpoint" half
// way through the second round's writes (a test kills and restarts the
// server then), the time per page-out and per page-in, the connect time
// and the share of the time spent in the network stack.
//
//	netdemo rtt [-server 10.0.2.100:10809] [-export tamach] [-n 200]
//
// times -n NBD page writes and reads from the guest without vm, and the
// connect.
//
//	netdemo count -id 0|1 [-server 10.0.2.100:7070] [-rounds 50]
//
// maps object 1 of a coherence pager (cmd/coherence) through mo/moremote
// and adds to two counters under Peterson's lock kept in the object,
// with kernel -id among two, once both have come; then it syncs the
// object.
//
// Under QEMU the server is a host loopback port reached through a
// guestfwd (see README.md, The network). The exit status is 0 only if the run
// was right.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/netstack"
)

type netstackStats = netstack.Stats

// mac is the guest's Ethernet address: locally administered, unicast.
var mac = net.HardwareAddr{0x02, 0x74, 0x61, 0x6d, 0x61, 0x01}

// useDHCP is the -dhcp flag: the address from a DHCP server.
var useDHCP bool

// dhcpLimit bounds the DHCP exchange.
const dhcpLimit = time.Minute

func main() {
	top := flag.NewFlagSet("netdemo", flag.ContinueOnError)
	top.BoolVar(&useDHCP, "dhcp", false, "take the address and gateway from a DHCP server")
	if err := top.Parse(os.Args[1:]); err != nil || top.NArg() < 1 {
		fmt.Println("usage: netdemo [-dhcp] nbd|rtt|count [flags]")
		os.Exit(2)
	}
	mode, args := top.Arg(0), top.Args()[1:]
	var err error
	switch mode {
	case "nbd":
		err = runNBD(args)
	case "rtt":
		err = runRTT(args)
	case "count":
		err = runCount(args)
	default:
		err = fmt.Errorf("unknown run %q: nbd, rtt or count", mode)
	}
	if err != nil {
		fmt.Println("netdemo:", err)
		os.Exit(1)
	}
}

// startNetwork brings up ENET1 and the stack with QEMU's static address,
// or with -dhcp the address of a DHCP lease.
func startNetwork() (*netstack.Stack, error) {
	nic, err := netstack.ENET1(mac)
	if err != nil {
		return nil, err
	}
	cfg := netstack.QEMUConfig()
	var lease netstack.Lease
	if useDHCP {
		ctx, cancel := context.WithTimeout(context.Background(), dhcpLimit)
		defer cancel()
		l, s, err := netstack.DHCP(ctx, nic, netstack.DHCPOptions{})
		if err != nil {
			return nil, err
		}
		fmt.Printf("dhcp: lease %v (%d DISCOVERs, %d REQUESTs, %d frames ignored, %d malformed)\n",
			l, s.Discovers, s.Requests, s.Ignored, s.Malformed)
		cfg, lease = l.Config(), l
	}
	st, err := netstack.New(nic, cfg)
	if err != nil {
		return nil, err
	}
	if useDHCP {
		events, err := st.KeepLease(context.Background(), lease, netstack.RenewOptions{})
		if err != nil {
			st.Close()
			return nil, err
		}
		go printLeaseEvents(events)
	}
	gw := "none"
	if cfg.Gateway.IsValid() {
		gw = cfg.Gateway.String()
	}
	fmt.Printf("network: ENET1 %v, address %v, gateway %s\n", mac, cfg.Address, gw)
	return st, nil
}

// printLeaseEvents prints what KeepLease reports until it stops.
func printLeaseEvents(events <-chan netstack.LeaseEvent) {
	for ev := range events {
		if ev.Kind == netstack.LeaseLost {
			fmt.Printf("dhcp: lease lost: %v (%d REQUESTs)\n", ev.Err, ev.Stats.Requests)
			continue
		}
		fmt.Printf("dhcp: lease renewed: %v (%d REQUESTs)\n", ev.Lease, ev.Stats.Requests)
	}
}

// parseServer reads a -server address.
func parseServer(s string) (netip.AddrPort, error) {
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return a, fmt.Errorf("-server %q: %v", s, err)
	}
	return a, nil
}

// startNetworkTo checks the -server address, then starts the network
// (startNetwork). The caller closes the stack.
func startNetworkTo(server string) (*netstack.Stack, netip.AddrPort, error) {
	addr, err := parseServer(server)
	if err != nil {
		return nil, addr, err
	}
	st, err := startNetwork()
	return st, addr, err
}

var layout = qemu.Layout

// dialFirst connects once through the stack, waiting up to limit: the
// first SYN through QEMU's user network may be lost.
func dialFirst(st *netstack.Stack, addr netip.AddrPort, limit time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return st.DialTCP(ctx, addr)
}
