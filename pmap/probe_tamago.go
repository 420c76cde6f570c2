//go:build tamago

package pmap

// Probes for on-target tests: one load or store instruction each, at a
// known place, so that a test's fault handler can record the abort and
// skip exactly that instruction (SkipFaultingInstruction).

// defined in probe_arm.s

// probeLoad returns the word at va, or 0xdeadbeef if the load was skipped.
func probeLoad(va uint32) uint32

// probeStore writes v at va.
func probeStore(va, v uint32)

// probeExec calls the code at va and returns what it left in r0 (0 if
// the call was not made: see returnFromFaultingCall).
func probeExec(va uint32) uint32

// returnToSystemMode makes the exception being handled return in System
// mode (SPSR.M = 0b11111), whatever mode it interrupted. Called from a
// test's fault handler.
func returnToSystemMode()

// probeExecWith calls the code at va with r1 set, and returns what it
// left in r0 (0 if it did not set it).
func probeExecWith(va, r1 uint32) uint32
