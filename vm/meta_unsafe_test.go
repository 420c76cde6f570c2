package vm

import (
	"testing"
	"unsafe"
)

// TestFrameMetadataIs16Bytes pins the per-frame metadata at the issue's
// goal of at most 16 bytes.
func TestFrameMetadataIs16Bytes(t *testing.T) {
	if s := unsafe.Sizeof(frame{}); s > 16 {
		t.Fatalf("frame metadata is %d bytes, want at most 16", s)
	}
}
