//go:build !tamago

package main

import (
	"fmt"
	"os"
)

// On the host netdemo only type-checks (its plain-Go parts are tested):
// it runs on a board; boot_test.go boots it in QEMU.
func main() {
	fmt.Fprintln(os.Stderr, "netdemo: this program runs on a board with an ENET: see README.md, Network")
	os.Exit(2)
}
