//go:build !tamago

package pmap

// InAbortMode reports whether the caller runs in ARM abort mode, inside
// the abort hook. On the host there is no abort hook: false.
func InAbortMode() bool { return false }
