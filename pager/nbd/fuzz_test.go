package nbd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// rw is a server's bytes to read and a sink for the client's.
type rw struct {
	io.Reader
	io.Writer
}

// FuzzNegotiate feeds arbitrary server bytes to the handshake and then to
// a request's reply: no panic, and any failure is one of the client's
// errors; a handshake that succeeds reports an export of the size sent.
func FuzzNegotiate(f *testing.F) {
	good := be16(be64(be64(nil, magicInit), magicOpt), flagFixedNewstyle)
	info := be16(be64(be16(nil, infoExport), 1<<20), tfHasFlags|tfSendFlush)
	good = append(good, optReply(repInfo, info)...)
	good = append(good, optReply(repAck, nil)...)
	f.Add(good)
	f.Add(append(append([]byte(nil), good[:18]...), optReply(repErrUnk, []byte("no"))...))
	f.Add(append(append([]byte(nil), good...), be64(be32(be32(nil, magicSimple), 0), 1)...))
	f.Add(good[:30])
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		ex, err := negotiate(rw{r, io.Discard}, "tamach")
		if err != nil {
			if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrRefused) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = ex
		var h [replyHeader]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return
		}
		errno, err := parseReply(h[:], 1)
		if err == nil && binary.BigEndian.Uint32(h[0:]) != magicSimple {
			t.Fatalf("reply with magic %#x accepted (errno %d)", binary.BigEndian.Uint32(h[0:]), errno)
		}
	})
}
