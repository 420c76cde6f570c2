package moremote

import (
	"bytes"
	"testing"

	"github.com/tamach/tamach/mo"
)

// FuzzDecodeFrame decodes arbitrary frame bodies: no panic; a frame that
// decodes encodes back to the same bytes and passes its own check.
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range []frame{
		{num: 1, op: mo.OpInit, object: 1, control: 1, length: 4096},
		{num: 2, op: mo.OpDataReturn, seqno: 3, offset: 8192, length: 4, data: []byte{1, 2, 3, 4}, flags: flagDirty},
		{num: 3, op: mo.OpLockRequest, policy: uint8(mo.ReturnDirty), prot: mo.ProtWrite, flags: flagFlush | flagReply},
		{num: 4, op: opResult, seqno: 2, code: int32(mo.KernFailure), text: "store: i/o error"},
		{num: 5, op: mo.OpSupplyCompleted, extra: 4096, code: 4, text: "x"},
	} {
		f.Add(appendFrame(nil, &fr)[4:])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := decodeFrame(body)
		if err != nil {
			return
		}
		if err := fr.check(); err != nil {
			t.Fatalf("decoded frame fails its check: %v", err)
		}
		again := appendFrame(nil, &fr)[4:]
		if !bytes.Equal(again, body) {
			t.Fatalf("re-encoded frame differs:\n%x\n%x", again, body)
		}
	})
}
