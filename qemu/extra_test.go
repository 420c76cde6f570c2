package main

import (
	"slices"
	"testing"
)

// TestSplitExtra: spaces separate QEMU arguments except inside single
// quotes, which group and are removed; an unterminated quote is an error.
func TestSplitExtra(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  -drive if=sd  ", []string{"-drive", "if=sd"}},
		{"-netdev 'user,id=n0,guestfwd=tcp:10.0.2.100:1-cmd:netrelay 127.0.0.1:1' -net nic,netdev=n0",
			[]string{"-netdev", "user,id=n0,guestfwd=tcp:10.0.2.100:1-cmd:netrelay 127.0.0.1:1", "-net", "nic,netdev=n0"}},
		{"a''b ''", []string{"ab", ""}},
	} {
		got, err := splitExtra(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("splitExtra(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := splitExtra("-netdev 'user"); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}
