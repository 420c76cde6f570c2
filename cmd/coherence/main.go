// Command coherence serves one memory object to several tamach kernels
// over TCP (package mo/moremote), keeping their copies coherent with the
// coherence pager (pager/coherence): single writer or many readers per
// granule, lock_request and data_unlock. A kernel that does not answer a
// lock_request within -timeout is evicted and its connection closed.
//
//	coherence -listen 127.0.0.1:7070 -size 1048576 -granule 65536
//
// The object is number 1.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/moremote"
	"github.com/tamach/tamach/pager/coherence"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7070", "address to listen on")
	size := flag.Uint64("size", 1<<20, "object size in bytes, a multiple of -granule")
	granule := flag.Uint64("granule", 64<<10, "unit of ownership in bytes, a power of two at least every kernel's page size")
	timeout := flag.Duration("timeout", 5*time.Second, "time a kernel may take to answer a lock_request before it is evicted")
	flag.Parse()
	if err := run(*listen, mo.Size(*size), mo.Size(*granule), *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "coherence:", err)
		os.Exit(1)
	}
}

func run(addr string, size, granule mo.Size, timeout time.Duration) error {
	srv := moremote.NewServer()
	p, err := coherence.New(coherence.Config{Size: size, Granule: granule, Timeout: timeout,
		Evicted: func(ctl mo.Control) {
			log.Printf("kernel evicted after %v without an answer", timeout)
			srv.Drop(ctl)
		}})
	if err != nil {
		return fmt.Errorf("object of %d bytes in granules of %d: %w", size, granule, err)
	}
	srv.Export(1, p)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("serving object 1 (%d bytes, granules of %d) on %v", size, granule, l.Addr())
	return srv.Serve(l)
}
