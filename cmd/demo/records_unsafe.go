package main

import "unsafe"

// records views b, window memory of a region, as records. The window is
// not scanned by the garbage collector, and a record holds no pointer.
func records(b []byte) []record {
	n := len(b) / int(unsafe.Sizeof(record{}))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*record)(unsafe.Pointer(&b[0])), n)
}
