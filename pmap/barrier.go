//go:build tamago

package pmap

// Memory barriers (A3.8.3, A8.8.43 DMB, A8.8.44 DSB, A8.8.53 ISB).

// defined in barrier_arm.s

// DSB is a full-system data synchronization barrier: DSB SY.
func DSB()

// ISB is an instruction synchronization barrier: ISB SY.
func ISB()

// DMB is a full-system data memory barrier: DMB SY.
func DMB()
