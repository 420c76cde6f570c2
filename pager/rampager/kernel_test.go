package rampager

import (
	"bytes"
	"testing"

	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/motest/modelkernel"
)

// TestTwoKernelsThroughTheModelKernel maps one object in two model kernels
// with different page sizes; data written in one and paged out is read in
// the other, in every mode of the pager.
func TestTwoKernelsThroughTheModelKernel(t *testing.T) {
	for _, c := range []struct {
		name            string
		precious, async bool
	}{{"Sync", false, false}, {"AsyncPrecious", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			tr := mo.NewTrace(256)
			o, err := New(Config{Size: testSize, Initial: initial(), Precious: c.precious, Async: c.async})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			small, _ := modelkernel.New(4<<10, 1, tr)
			large, _ := modelkernel.New(64<<10, 2, tr)
			rs, err := small.Map(o, testSize)
			if err != nil {
				t.Fatal(err)
			}
			rl, err := large.Map(o, testSize)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 100)
			if _, err := rl.ReadAt(got, 70000); err != nil || !bytes.Equal(got, initial()[70000:70100]) {
				t.Fatalf("first read: %v", err)
			}
			msg := []byte("written by the 4 KiB kernel")
			if _, err := rs.WriteAt(msg, 70000); err != nil {
				t.Fatal(err)
			}
			if err := rs.Evict(); err != nil {
				t.Fatal(err)
			}
			// The large kernel still caches its clean copy; a flush through
			// the pager's lock_request would make it coherent. Evict it.
			if err := rl.Evict(); err != nil {
				t.Fatal(err)
			}
			if _, err := rl.ReadAt(got[:len(msg)], 70000); err != nil || !bytes.Equal(got[:len(msg)], msg) {
				t.Fatalf("read in the other kernel: %q, %v", got[:len(msg)], err)
			}
			// Destroy flushes the small kernel's dirty page first.
			if _, err := rs.WriteAt(msg, 4096); err != nil {
				t.Fatal(err)
			}
			if err := o.Destroy(mo.KernAborted); err != nil {
				t.Fatal(err)
			}
			small.Quiesce()
			large.Quiesce()
			o.ReadAt(got[:len(msg)], 4096)
			if !bytes.Equal(got[:len(msg)], msg) {
				t.Fatalf("dirty page lost by destroy: %q", got[:len(msg)])
			}
			if _, err := rs.ReadAt(got, 0); err == nil {
				t.Fatal("read after destroy succeeded")
			}
			var b bytes.Buffer
			tr.WriteTo(&b)
			if !bytes.Contains(b.Bytes(), []byte("> terminate")) || !bytes.Contains(b.Bytes(), []byte("< destroy")) {
				t.Fatalf("trace lacks destroy and terminate:\n%s", b.String())
			}
			if testing.Verbose() {
				t.Logf("trace:\n%s", b.String())
			}
		})
	}
}
