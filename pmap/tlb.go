//go:build tamago

package pmap

// TLB and branch predictor maintenance (B3.10, B4.2.2, B4.2.1). No
// barriers inside: the caller orders them (package doc).

// defined in tlb_arm.s

// TLBInvalidateMVA invalidates unified TLB entries for the page of va
// (ASID 0, or global entries): TLBIMVA.
func TLBInvalidateMVA(va uint32)

// TLBInvalidateMVAAllASID invalidates unified TLB entries for the page of
// va whatever their ASID: TLBIMVAA (for nG mappings, later).
func TLBInvalidateMVAAllASID(va uint32)

// TLBInvalidateAll invalidates the whole unified TLB: TLBIALL.
func TLBInvalidateAll()

// BranchPredictorInvalidateAll invalidates all branch predictors: BPIALL.
func BranchPredictorInvalidateAll()
