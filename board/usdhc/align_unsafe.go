package usdhc

import "unsafe"

// aligned reports whether p starts on a word boundary, as WordPort wants.
func aligned(p []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(p)))%4 == 0
}
