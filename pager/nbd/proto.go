package nbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Protocol constants (the NBD protocol, doc/proto.md of the nbd project,
// sections "Handshake", "Option types", "Transmission").
const (
	magicInit      = 0x4e42444d41474943 // "NBDMAGIC"
	magicOpt       = 0x49484156454f5054 // "IHAVEOPT"
	magicOptReply  = 0x0003e889045565a9
	magicRequest   = 0x25609513
	magicSimple    = 0x67446698
	magicStructure = 0x668e33ef

	flagFixedNewstyle = 1 << 0 // handshake flags, server
	flagNoZeroes      = 1 << 1
	clientFixed       = 1 << 0 // client flags
	clientNoZeroes    = 1 << 1

	optExportName = 1
	optAbort      = 2
	optGo         = 7

	repAck      = 1
	repInfo     = 3
	repErrBit   = 1 << 31
	repErrUnsup = repErrBit | 1
	repErrPol   = repErrBit | 2
	repErrInval = repErrBit | 3
	repErrUnk   = repErrBit | 6

	infoExport    = 0
	infoBlockSize = 3

	// Transmission flags.
	tfHasFlags  = 1 << 0
	tfReadOnly  = 1 << 1
	tfSendFlush = 1 << 2
	tfSendFUA   = 1 << 3
	tfSendTrim  = 1 << 5

	cmdRead  = 0
	cmdWrite = 1
	cmdDisc  = 2
	cmdFlush = 3
	cmdTrim  = 4

	cmdFlagFUA = 1 << 0

	requestHeader = 28
	replyHeader   = 16

	// maxOptReply bounds an option reply's payload: every reply the client
	// asks for is a few bytes; a longer one is a protocol error.
	maxOptReply = 4096
)

// ErrProtocol is a server that broke the protocol: bad magic, a reply to
// another request, a wrong length, more data than asked. The connection is
// dropped; the request is not retried (the server would likely do it
// again) and the call fails wrapping store.ErrIO as well.
var ErrProtocol = errors.New("nbd: protocol violation by the server")

// ErrRefused is an export the server would not give: an unknown name,
// a policy refusal, an unsupported negotiation.
var ErrRefused = errors.New("nbd: the server refused the export")

// ServerError is an error reply (the error field of a simple reply): an
// errno value as the protocol defines them.
type ServerError struct {
	Cmd   uint16
	Errno uint32
}

var errnoNames = map[uint32]string{1: "EPERM", 5: "EIO", 12: "ENOMEM", 22: "EINVAL", 28: "ENOSPC",
	75: "EOVERFLOW", 95: "ENOTSUP", 108: "ESHUTDOWN"}

var cmdNames = [...]string{"READ", "WRITE", "DISC", "FLUSH", "TRIM"}

func cmdName(c uint16) string {
	if int(c) < len(cmdNames) {
		return "NBD_CMD_" + cmdNames[c]
	}
	return fmt.Sprintf("command %d", c)
}

func (e *ServerError) Error() string {
	n, ok := errnoNames[e.Errno]
	if !ok {
		n = fmt.Sprintf("errno %d", e.Errno)
	}
	return fmt.Sprintf("nbd: server answered %s with %s", cmdName(e.Cmd), n)
}

// export is what NBD_OPT_GO told about the export.
type export struct {
	size  uint64
	flags uint16
	// minBlock, prefBlock, maxBlock are the block size constraints
	// (NBD_INFO_BLOCK_SIZE), zero when not sent.
	minBlock, prefBlock, maxBlock uint32
}

// negotiate runs the fixed newstyle handshake on rw and selects name with
// NBD_OPT_GO. It allocates; it runs once per connection.
func negotiate(rw io.ReadWriter, name string) (export, error) {
	var ex export
	var hdr [18]byte
	if _, err := io.ReadFull(rw, hdr[:]); err != nil {
		return ex, fmt.Errorf("nbd: reading the server's greeting: %w", err)
	}
	if binary.BigEndian.Uint64(hdr[0:]) != magicInit || binary.BigEndian.Uint64(hdr[8:]) != magicOpt {
		return ex, fmt.Errorf("%w: greeting %x is not fixed newstyle", ErrProtocol, hdr[:16])
	}
	hflags := binary.BigEndian.Uint16(hdr[16:])
	if hflags&flagFixedNewstyle == 0 {
		return ex, fmt.Errorf("%w: server does not offer fixed newstyle negotiation", ErrRefused)
	}
	cflags := uint32(clientFixed)
	if hflags&flagNoZeroes != 0 {
		cflags |= clientNoZeroes
	}
	if len(name) > 4096 {
		return ex, fmt.Errorf("%w: export name of %d bytes", ErrRefused, len(name))
	}
	// Client flags, then NBD_OPT_GO: name length, name, two info requests.
	msg := binary.BigEndian.AppendUint32(nil, cflags)
	msg = binary.BigEndian.AppendUint64(msg, magicOpt)
	msg = binary.BigEndian.AppendUint32(msg, optGo)
	msg = binary.BigEndian.AppendUint32(msg, uint32(4+len(name)+2+4))
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(name)))
	msg = append(msg, name...)
	msg = binary.BigEndian.AppendUint16(msg, 2)
	msg = binary.BigEndian.AppendUint16(msg, infoExport)
	msg = binary.BigEndian.AppendUint16(msg, infoBlockSize)
	if _, err := rw.Write(msg); err != nil {
		return ex, fmt.Errorf("nbd: sending NBD_OPT_GO: %w", err)
	}
	gotExport := false
	for replies := 0; ; replies++ {
		if replies > 64 {
			return ex, fmt.Errorf("%w: more than 64 replies to NBD_OPT_GO", ErrProtocol)
		}
		var rh [20]byte
		if _, err := io.ReadFull(rw, rh[:]); err != nil {
			return ex, fmt.Errorf("nbd: reading the reply to NBD_OPT_GO: %w", err)
		}
		magic, opt := binary.BigEndian.Uint64(rh[0:]), binary.BigEndian.Uint32(rh[8:])
		typ, n := binary.BigEndian.Uint32(rh[12:]), binary.BigEndian.Uint32(rh[16:])
		if magic != magicOptReply || opt != optGo || n > maxOptReply {
			return ex, fmt.Errorf("%w: option reply magic %#x option %d length %d", ErrProtocol, magic, opt, n)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(rw, data); err != nil {
			return ex, fmt.Errorf("nbd: reading the reply to NBD_OPT_GO: %w", err)
		}
		switch {
		case typ == repAck:
			if !gotExport {
				return ex, fmt.Errorf("%w: NBD_OPT_GO acknowledged without NBD_INFO_EXPORT", ErrProtocol)
			}
			return ex, nil
		case typ == repInfo:
			if len(data) < 2 {
				return ex, fmt.Errorf("%w: NBD_REP_INFO of %d bytes", ErrProtocol, len(data))
			}
			switch binary.BigEndian.Uint16(data) {
			case infoExport:
				if len(data) != 12 {
					return ex, fmt.Errorf("%w: NBD_INFO_EXPORT of %d bytes", ErrProtocol, len(data))
				}
				ex.size, ex.flags = binary.BigEndian.Uint64(data[2:]), binary.BigEndian.Uint16(data[10:])
				gotExport = true
			case infoBlockSize:
				if len(data) != 14 {
					return ex, fmt.Errorf("%w: NBD_INFO_BLOCK_SIZE of %d bytes", ErrProtocol, len(data))
				}
				ex.minBlock = binary.BigEndian.Uint32(data[2:])
				ex.prefBlock = binary.BigEndian.Uint32(data[6:])
				ex.maxBlock = binary.BigEndian.Uint32(data[10:])
			}
			// Other information types are skipped, as the protocol allows.
		case typ&repErrBit != 0:
			what := map[uint32]string{repErrUnsup: "NBD_REP_ERR_UNSUP", repErrPol: "NBD_REP_ERR_POLICY",
				repErrInval: "NBD_REP_ERR_INVALID", repErrUnk: "NBD_REP_ERR_UNKNOWN"}[typ]
			if what == "" {
				what = fmt.Sprintf("error %#x", typ)
			}
			return ex, fmt.Errorf("%w: export %q: %s %q", ErrRefused, name, what, printable(data))
		default:
			return ex, fmt.Errorf("%w: option reply type %d", ErrProtocol, typ)
		}
	}
}

// printable keeps at most 80 bytes of a server's message, printable ones.
func printable(b []byte) string {
	b = b[:min(len(b), 80)]
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}

// putRequest encodes a request header into b (requestHeader bytes).
func putRequest(b []byte, flags, typ uint16, handle, offset uint64, length uint32) {
	binary.BigEndian.PutUint32(b[0:], magicRequest)
	binary.BigEndian.PutUint16(b[4:], flags)
	binary.BigEndian.PutUint16(b[6:], typ)
	binary.BigEndian.PutUint64(b[8:], handle)
	binary.BigEndian.PutUint64(b[16:], offset)
	binary.BigEndian.PutUint32(b[24:], length)
}

// parseReply checks a simple reply header against the request's handle
// and returns its error field.
func parseReply(b []byte, handle uint64) (uint32, error) {
	switch m := binary.BigEndian.Uint32(b[0:]); m {
	case magicSimple:
	case magicStructure:
		return 0, fmt.Errorf("%w: structured reply, which was not negotiated", ErrProtocol)
	default:
		return 0, fmt.Errorf("%w: reply magic %#x", ErrProtocol, m)
	}
	if h := binary.BigEndian.Uint64(b[8:]); h != handle {
		return 0, fmt.Errorf("%w: reply for handle %#x, request was %#x", ErrProtocol, h, handle)
	}
	return binary.BigEndian.Uint32(b[4:]), nil
}
