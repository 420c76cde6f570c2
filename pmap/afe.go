//go:build tamago

package pmap

// SCTLR.AFE: the access flag (B3.7.1, B4.1.130).

// defined in afe_arm.s

// EnableAccessFlag sets SCTLR.AFE (bit 29), so AP[0] of every descriptor
// is the access flag, and invalidates the TLB, which may hold entries read
// under the old meaning of AP[0]. TamaGo's flat map (AP=0b001) stays
// valid: its AP[0] is set. Sequence: DSB; read SCTLR; ORR 1<<29; write
// SCTLR; ISB; TLBIALL; BPIALL; DSB; ISB.
func EnableAccessFlag()
