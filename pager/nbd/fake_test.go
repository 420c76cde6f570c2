package nbd

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// fakeServer is a small NBD server over memory that misbehaves on
// request: it is for the bad-input tests only; the other tests use
// qemu-nbd.
type fakeServer struct {
	l net.Listener

	mu        sync.Mutex
	disk      []byte
	flags     uint16 // transmission flags
	refuse    uint32 // answer NBD_OPT_GO with this error reply (0: no)
	greeting  []byte // sent instead of the greeting when not nil
	fault     string // misbehaviour for the next faultN replies to fault's command
	faultCmd  uint16
	faultN    int
	writeErr  uint32 // errno for writes while set
	writes    int    // writes carried out
	flushes   int
	conns     int
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func newFakeServer(t testing.TB, size int) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{l: l, disk: make([]byte, size), flags: tfHasFlags | tfSendFlush | tfSendFUA | tfSendTrim}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) Close() {
	s.closeOnce.Do(func() { s.l.Close() })
	s.wg.Wait()
}

func (s *fakeServer) Addr() string { return s.l.Addr().String() }

// Dial connects to the fake server.
func (s *fakeServer) Dial(ctx context.Context) (net.Conn, error) { return dialer(s.Addr())(ctx) }

func (s *fakeServer) set(f func(s *fakeServer)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

func be16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func optReply(typ uint32, data []byte) []byte {
	b := be64(nil, magicOptReply)
	b = be32(b, optGo)
	b = be32(b, typ)
	b = be32(b, uint32(len(data)))
	return append(b, data...)
}

func (s *fakeServer) serve(c net.Conn) {
	s.mu.Lock()
	greeting, refuse, flags, size := s.greeting, s.refuse, s.flags, uint64(len(s.disk))
	s.mu.Unlock()
	if greeting != nil {
		c.Write(greeting)
		io.Copy(io.Discard, c)
		return
	}
	c.Write(be16(be64(be64(nil, magicInit), magicOpt), flagFixedNewstyle|flagNoZeroes))
	var cf [4]byte
	if _, err := io.ReadFull(c, cf[:]); err != nil {
		return
	}
	var oh [16]byte
	if _, err := io.ReadFull(c, oh[:]); err != nil {
		return
	}
	od := make([]byte, binary.BigEndian.Uint32(oh[12:]))
	if _, err := io.ReadFull(c, od); err != nil {
		return
	}
	if refuse != 0 {
		c.Write(optReply(refuse, []byte("no such export")))
		return
	}
	info := be16(nil, infoExport)
	info = be16(be64(info, size), flags)
	c.Write(append(optReply(repInfo, info), optReply(repAck, nil)...))
	var rq [requestHeader]byte
	for {
		if _, err := io.ReadFull(c, rq[:]); err != nil {
			return
		}
		typ, h := binary.BigEndian.Uint16(rq[6:]), binary.BigEndian.Uint64(rq[8:])
		off, n := binary.BigEndian.Uint64(rq[16:]), binary.BigEndian.Uint32(rq[24:])
		var data []byte
		if typ == cmdWrite {
			data = make([]byte, n)
			if _, err := io.ReadFull(c, data); err != nil {
				return
			}
		}
		if typ == cmdDisc {
			return
		}
		s.mu.Lock()
		fault := ""
		if s.faultN > 0 && s.faultCmd == typ {
			fault = s.fault
			s.faultN--
		}
		errno := uint32(0)
		if off+uint64(n) > uint64(len(s.disk)) {
			errno = 22
		}
		switch {
		case errno != 0:
		case typ == cmdRead:
			data = append([]byte(nil), s.disk[off:off+uint64(n)]...)
		case typ == cmdWrite && s.writeErr != 0:
			errno = s.writeErr
		case typ == cmdWrite:
			copy(s.disk[off:], data)
			s.writes++
			data = nil
		case typ == cmdFlush:
			s.flushes++
		}
		s.mu.Unlock()
		rep := be64(be32(be32(nil, magicSimple), errno), h)
		switch fault {
		case "errno":
			rep = be64(be32(be32(nil, magicSimple), 5), h)
			data = nil
		case "handle":
			rep = be64(be32(be32(nil, magicSimple), 0), h+7)
		case "magic":
			rep = be64(be32(be32(nil, 0xdeadbeef), 0), h)
		case "structured":
			rep = be64(be32(be32(nil, magicStructure), 0), h)
		case "extra":
			data = append(data, make([]byte, 100)...)
		case "close":
			c.Write(append(rep, data[:len(data)/2]...))
			return
		}
		if errno != 0 {
			data = nil
		}
		if typ != cmdRead {
			data = data[:0]
			if fault == "extra" {
				data = make([]byte, 8)
			}
		}
		if _, err := c.Write(append(rep, data...)); err != nil {
			return
		}
	}
}
