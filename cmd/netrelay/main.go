// Command netrelay joins its standard input and output to a TCP
// connection: what it reads from stdin goes to the server, what the server
// sends goes to stdout. It ends when either side closes.
//
//	netrelay 127.0.0.1:10809
//
// It is the host end of QEMU's user-network forwarding for a guest that
// dials a host server: with
//
//	-netdev 'user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:10809-cmd:netrelay 127.0.0.1:10809'
//
// QEMU starts one netrelay for every connection the guest opens, so a
// guest that reconnects gets a new connection to the server (a guestfwd to
// a tcp: character device is one connection, made when QEMU starts).
//
// QEMU's user network (libslirp) gives the command a loopback TCP socket
// as stdin and stdout, and writes to it with Nagle's algorithm: a second
// segment of a request waits until the first is acknowledged, and Linux
// delays that acknowledgement by 40 ms when the reader has nothing to
// send back. So netrelay asks for an immediate acknowledgement
// (TCP_QUICKACK) before every read, and writes without delay
// (TCP_NODELAY) on both sockets.
//
// When the server cannot be reached, netrelay exits at once and silently
// (QEMU gives it the guest's connection as stderr too): the guest sees its
// connection closed, as it would see a refused one.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: netrelay host:port")
		os.Exit(2)
	}
	c, err := net.DialTimeout("tcp", os.Args[1], 10*time.Second)
	if err != nil {
		// No message: QEMU joins stderr to the guest's connection
		// too, where text would read as the server's.
		os.Exit(1)
	}
	var in io.Reader = os.Stdin
	var out io.Writer = os.Stdout
	if s, err := net.FileConn(os.Stdin); err == nil {
		if tc, ok := s.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
			in, out = quickAckReader{tc}, tc
		}
	}
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(c, in)
		c.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	go func() {
		io.Copy(out, c)
		done <- struct{}{}
	}()
	<-done
	c.Close()
}

// quickAckReader re-arms TCP_QUICKACK before every read (Linux clears it
// as it sees fit).
type quickAckReader struct{ c *net.TCPConn }

func (r quickAckReader) Read(p []byte) (int, error) {
	quickAck(r.c)
	return r.c.Read(p)
}
