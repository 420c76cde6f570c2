// Package targettest lets host tests build TamaGo programs of this module
// and boot them in QEMU through the runner (qemu/), to check what a guest
// prints and how it exits.
//
// Such tests boot QEMU and need the TamaGo compiler: they run only when
// TAMACH_TARGET=1 (make test sets it) and skip otherwise, so that a plain
// go test ./... works on any host. make test never lets them skip.
package targettest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Guest is a built guest image and the runner that boots it.
type Guest struct {
	Runner string
	Image  string
}

// moduleRoot returns the directory of go.mod, from this file's location.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Require skips t unless on-target tests were asked for.
func Require(t *testing.T) {
	t.Helper()
	if os.Getenv("TAMACH_TARGET") != "1" {
		t.Skip("boots QEMU: run by make test (TAMACH_TARGET=1)")
	}
}

// Build builds the runner and the package at pkg (a path relative to the
// module root, such as ./qemu/testdata/guest) for the QEMU board: its test
// binary when test is true, else the program.
func Build(t *testing.T, pkg string, test bool) Guest {
	t.Helper()
	Require(t)
	root := moduleRoot()
	dir := t.TempDir()
	g := Guest{Runner: filepath.Join(dir, "qemu-run"), Image: filepath.Join(dir, "guest.elf")}
	build := exec.Command("go", "build", "-o", g.Runner, "./qemu")
	build.Dir = root
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the runner: %v\n%s", err, out)
	}
	toolCmd := exec.Command("go", "tool", "-n", "tamago")
	toolCmd.Dir = root
	toolCmd.Env = build.Env
	tool, err := toolCmd.Output()
	if err != nil {
		t.Fatalf("go tool -n tamago: %v", err)
	}
	args := []string{"build"}
	if test {
		args = []string{"test", "-c"}
	}
	args = append(args, "-o", g.Image, "-tags", "linkramsize", "-ldflags", "-T 0x80010000 -R 0x1000", pkg)
	cc := exec.Command(strings.TrimSpace(string(tool)), args...)
	cc.Dir = root
	cc.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOOS=tamago", "GOARCH=arm", "GOARM=7",
		"GOOSPKG=github.com/usbarmory/tamago")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("building %s with the TamaGo compiler: %v\n%s", pkg, err, out)
	}
	return g
}

// Run boots the guest with the guest arguments args and returns its exit
// code, its output (console and runner messages) and how long it
// took. It fails t if any QEMU process of this guest is left behind.
func (g Guest) Run(t *testing.T, args ...string) (int, string, time.Duration) {
	t.Helper()
	cmd := exec.Command(g.Runner, append([]string{g.Image}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", g.Runner, err)
	}
	g.CheckNoQEMULeft(t)
	return code, out.String(), d
}

// CheckNoQEMULeft fails t if a QEMU process still has the guest image on
// its command line.
func (g Guest) CheckNoQEMULeft(t *testing.T) {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(g.Image)) && bytes.Contains(b, []byte("qemu-system-arm")) {
			t.Errorf("a QEMU process is left behind: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}
