//go:build tamago

package pmap

import "testing"

// modeRecorder maps each faulting page and records whether the handler
// ran in abort mode.
type modeRecorder struct {
	frameMapper
	inAbort, faults int
}

func (m *modeRecorder) HandleFault(f *Fault, onG0 bool) Resolution {
	m.faults++
	if InAbortMode() {
		m.inAbort++
	}
	return m.frameMapper.HandleFault(f, onG0)
}

// TestTargetHandlerRunsInAbortMode: the abort hook calls the handler in
// abort mode; a goroutine is not in it.
func TestTargetHandlerRunsInAbortMode(t *testing.T) {
	if InAbortMode() {
		t.Fatal("a goroutine reports abort mode")
	}
	e := newTargetEnv(t)
	a, err := NewPageAttr(ProtRead|ProtWrite, MemNormal, Accessed)
	if err != nil {
		t.Fatal(err)
	}
	m := &modeRecorder{frameMapper: frameMapper{e.p, targetWindow, targetFramesPA, a, false}}
	e.d.Register(m)
	if err := e.p.Enter(targetWindow+benchKept, targetFramesPA, ProtRead, MemNormal, Page4K, Accessed); err != nil {
		t.Fatal(err)
	}
	for va := targetWindow; va < targetWindow+4*4096; va += 4096 {
		probeLoad(va)
	}
	if m.faults != 4 || m.inAbort != 4 {
		t.Fatalf("%d faults, %d of them handled in abort mode; want 4 and 4", m.faults, m.inAbort)
	}
}
