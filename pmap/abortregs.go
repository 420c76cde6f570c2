//go:build tamago

package pmap

// Fault status and address registers (B4.1.52 DFSR, B4.1.96 IFSR,
// B4.1.53 DFAR, B4.1.97 IFAR), read by the abort hook and handed to
// DecodeData and DecodePrefetch.

// defined in abortregs_arm.s

// ReadDFSR returns the Data Fault Status Register.
func ReadDFSR() uint32

// ReadDFAR returns the Data Fault Address Register.
func ReadDFAR() uint32

// ReadIFSR returns the Instruction Fault Status Register.
func ReadIFSR() uint32

// ReadIFAR returns the Instruction Fault Address Register.
func ReadIFAR() uint32

// DataFault reads and decodes the current data abort.
func DataFault() Fault { return DecodeData(ReadDFSR(), ReadDFAR()) }

// PrefetchFault reads and decodes the current prefetch abort.
func PrefetchFault() Fault { return DecodePrefetch(ReadIFSR(), ReadIFAR()) }
