//go:build tamago && !linkramsize

package usbarmory

// Without the linkramsize build tag TamaGo gives all of DDR to the Go
// runtime, and the frame pool would be part of the Go heap. Build with
// -tags linkramsize (the Makefile does).
var _ = build_with_tags_linkramsize_see_board_usbarmory
