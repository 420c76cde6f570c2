package nbd

import "github.com/tamach/tamach/internal/nbdtest"

// Real servers for the tests: qemu-nbd on loopback (package
// internal/nbdtest, shared with the tests that boot guests paging over the
// network).
var (
	startQemuNBD = nbdtest.StartQemuNBD
	dialer       = nbdtest.Dialer
)
