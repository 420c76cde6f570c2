//go:build tamago

// Package guest holds on-target tests that misbehave on purpose: the
// runner's own tests (qemu/runner_test.go) boot them one at a time and
// check the runner's exit status and output. It lives in testdata so that
// go test ./... and the on-target runs of make test never pick it up.
package guest

import (
	"sync/atomic"
	"testing"
	"unsafe"

	_ "github.com/tamach/tamach/board/qemu"
)

func TestPasses(t *testing.T) { t.Log("passing") }

func TestAlsoPasses(t *testing.T) {}

func TestFails(t *testing.T) { t.Fatal("failing on purpose") }

func TestPanics(t *testing.T) { panic("panicking on purpose") }

var never atomic.Bool

// TestHangs spins without yielding: on TamaGo's single cooperative core not
// even the testing package's timeout can fire, so only the runner can end
// it.
func TestHangs(t *testing.T) {
	for !never.Load() {
	}
}

// TestBadAccess reads an address nothing maps (TamaGo traps the first
// 4 KiB to catch nil pointers): a data abort that nobody handles.
func TestBadAccess(t *testing.T) {
	p := (*uint32)(unsafe.Pointer(uintptr(0x10)))
	t.Log(*p)
}
