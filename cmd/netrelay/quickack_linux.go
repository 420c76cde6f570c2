package main

import (
	"net"
	"syscall"
)

// quickAck sets TCP_QUICKACK (tcp(7)): acknowledge at once, not after the
// delayed-acknowledgement timer.
func quickAck(c *net.TCPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
