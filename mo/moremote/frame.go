package moremote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/tamach/tamach/mo"
)

// opResult is the answer to a call that expects one: every kernel-to-pager
// call, and get_attributes. It follows the mo.Op numbers.
const opResult mo.Op = 100

// Frame flags.
const (
	flagDirty      = 1 << 0
	flagKernelCopy = 1 << 1
	flagPrecious   = 1 << 2
	flagReply      = 1 << 3
	flagFlush      = 1 << 4
	flagMayCache   = 1 << 5
	flagsAll       = 1<<6 - 1
)

// Limits of a frame.
const (
	headerSize = 64
	// MaxData bounds the data of one frame: the largest page size times
	// the largest cluster.
	MaxData = int(mo.MaxPageSize) * 16
	// MaxText bounds a reason's text.
	MaxText = 256
	// maxFrame bounds the length field.
	maxFrame = headerSize + 2 + MaxText + MaxData
)

// ErrFrame is a malformed frame: the connection is closed.
var ErrFrame = errors.New("moremote: malformed frame")

// frame is one message. Every frame has the same fixed fields; a call
// uses those it needs and leaves the others zero.
//
// Layout, big-endian, after a 4-byte length of the rest:
//
//	 0  u64 num      frames sent on this connection in this direction, from 1
//	 8  u8  op       mo.Op of the call, or 100 (result)
//	 9  u8  flags    dirty, kernel copy, precious, reply, flush, may cache
//	10  u8  prot     desired access, or lock value
//	11  u8  policy   should_return (lock_request); copy strategy
//	                 (attributes); flags (synchronize)
//	12  u32 object   the object's number, as the server exports it
//	16  u32 control  the kernel's control, numbered by the client
//	20  u64 seqno    of a kernel-to-pager call; of a result: num of the call
//	28  u64 offset   offset; error offset (supply_completed)
//	36  u64 length   length; page size (init); cluster size (attributes)
//	44  i32 code     Mach return: result, reason, supply result
//	48  u64 extra    error offset (supply_completed), otherwise zero
//	56  u32 ndata    bytes of data after the text
//	60  u16 ntext    bytes of text after the header
//	62  u16 zero
//	64  text, then data
type frame struct {
	num     uint64
	op      mo.Op
	flags   uint8
	prot    mo.Prot
	policy  uint8
	object  uint32
	control uint32
	seqno   uint64
	offset  uint64
	length  uint64
	code    int32
	extra   uint64
	text    string
	data    []byte
}

// hasData reports whether op carries page data.
func hasData(op mo.Op) bool {
	return op == mo.OpDataReturn || op == mo.OpDataInitialize || op == mo.OpDataSupply
}

// hasText reports whether op carries a reason's text.
func hasText(op mo.Op) bool {
	return op == mo.OpDataError || op == mo.OpDestroy || op == mo.OpSupplyCompleted || op == opResult
}

// check validates the fields of a decoded frame against its op.
func (f *frame) check() error {
	switch {
	case f.op != opResult && (!f.op.Valid() || f.op == mo.OpCreate):
		return fmt.Errorf("%w: op %d", ErrFrame, f.op)
	case f.flags&^flagsAll != 0:
		return fmt.Errorf("%w: flags %#x", ErrFrame, f.flags)
	case !f.prot.Valid() && !f.op.ToPager():
		// A kernel's desired access is the pager's to check (it refuses
		// it with KERN_INVALID_ARGUMENT); a lock value is checked here.
		return fmt.Errorf("%w: protection %#x", ErrFrame, uint8(f.prot))
	case f.op == mo.OpLockRequest && !mo.ReturnPolicy(f.policy).Valid():
		return fmt.Errorf("%w: return policy %d", ErrFrame, f.policy)
	case (f.op == mo.OpReady || f.op == mo.OpChangeAttributes || f.op == mo.OpChangeCompleted) &&
		!mo.CopyStrategy(f.policy).Valid():
		return fmt.Errorf("%w: copy strategy %d", ErrFrame, f.policy)
	case len(f.data) != 0 && !hasData(f.op):
		return fmt.Errorf("%w: %v with data", ErrFrame, f.op)
	case len(f.text) != 0 && !hasText(f.op):
		return fmt.Errorf("%w: %v with text", ErrFrame, f.op)
	case len(f.text) > MaxText || len(f.data) > MaxData:
		return fmt.Errorf("%w: text of %d or data of %d bytes", ErrFrame, len(f.text), len(f.data))
	}
	return nil
}

// appendFrame encodes f after b, length first.
func appendFrame(b []byte, f *frame) []byte {
	n := headerSize + len(f.text) + len(f.data)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint64(b, f.num)
	b = append(b, byte(f.op), f.flags, byte(f.prot), f.policy)
	b = binary.BigEndian.AppendUint32(b, f.object)
	b = binary.BigEndian.AppendUint32(b, f.control)
	b = binary.BigEndian.AppendUint64(b, f.seqno)
	b = binary.BigEndian.AppendUint64(b, f.offset)
	b = binary.BigEndian.AppendUint64(b, f.length)
	b = binary.BigEndian.AppendUint32(b, uint32(f.code))
	b = binary.BigEndian.AppendUint64(b, f.extra)
	b = binary.BigEndian.AppendUint32(b, uint32(len(f.data)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(f.text)))
	b = binary.BigEndian.AppendUint16(b, 0)
	b = append(b, f.text...)
	return append(b, f.data...)
}

// decodeFrame decodes one frame body (without its length field) and
// checks it. The frame's data aliases body.
func decodeFrame(body []byte) (frame, error) {
	var f frame
	if len(body) < headerSize {
		return f, fmt.Errorf("%w: %d bytes", ErrFrame, len(body))
	}
	be := binary.BigEndian
	f.num = be.Uint64(body[0:])
	f.op, f.flags, f.prot, f.policy = mo.Op(body[8]), body[9], mo.Prot(body[10]), body[11]
	f.object, f.control = be.Uint32(body[12:]), be.Uint32(body[16:])
	f.seqno, f.offset, f.length = be.Uint64(body[20:]), be.Uint64(body[28:]), be.Uint64(body[36:])
	f.code = int32(be.Uint32(body[44:]))
	f.extra = be.Uint64(body[48:])
	ndata, ntext := be.Uint32(body[56:]), be.Uint16(body[60:])
	if f.extra != 0 && f.op != mo.OpSupplyCompleted || be.Uint16(body[62:]) != 0 {
		return f, fmt.Errorf("%w: reserved fields set", ErrFrame)
	}
	if uint64(len(body)) != headerSize+uint64(ntext)+uint64(ndata) {
		return f, fmt.Errorf("%w: %d bytes, header says %d of text and %d of data", ErrFrame, len(body), ntext, ndata)
	}
	f.text = string(body[headerSize : headerSize+int(ntext)])
	f.data = body[headerSize+int(ntext):]
	if len(f.data) == 0 {
		f.data = nil
	}
	return f, f.check()
}

// readFrame reads one frame from r into buf (grown as needed) and decodes
// it.
func readFrame(r io.Reader, buf *[]byte) (frame, error) {
	var lb [4]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n < headerSize || int64(n) > int64(maxFrame) {
		return frame{}, fmt.Errorf("%w: length %d", ErrFrame, n)
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	body := (*buf)[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		return frame{}, err
	}
	return decodeFrame(body)
}

// attrOf and setAttr carry mo.Attributes in a frame: may cache as a flag,
// the copy strategy in policy, the cluster size in length.
func attrOf(f *frame) mo.Attributes {
	return mo.Attributes{MayCache: f.flags&flagMayCache != 0, CopyStrategy: mo.CopyStrategy(f.policy), ClusterSize: mo.Size(f.length)}
}

func setAttr(f *frame, a mo.Attributes) {
	if a.MayCache {
		f.flags |= flagMayCache
	}
	f.policy, f.length = uint8(a.CopyStrategy), uint64(a.ClusterSize)
}

// remoteError is a reason received from the other side: its Mach code and
// its text.
type remoteError struct {
	code mo.Return
	text string
}

func (e *remoteError) Error() string { return "remote: " + e.text }
func (e *remoteError) Unwrap() error { return e.code }

// reasonOf encodes an error as a code and a text of at most MaxText bytes.
func reasonOf(err error) (int32, string) {
	if err == nil {
		return 0, ""
	}
	s := err.Error()
	if len(s) > MaxText {
		s = s[:MaxText]
	}
	return int32(mo.ReturnOf(err)), s
}

// errorOf decodes a code and text; nil for KERN_SUCCESS.
func errorOf(code int32, text string) error {
	if code == 0 {
		return nil
	}
	r := mo.Return(code)
	if text == "" || text == r.Error() {
		return r
	}
	return &remoteError{code: r, text: text}
}
