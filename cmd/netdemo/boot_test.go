//go:build !tamago

package main

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tamach/tamach/internal/nbdtest"
	"github.com/tamach/tamach/internal/targettest"
)

// Host tests that build netdemo with the TamaGo compiler and boot it in
// QEMU with user networking (TAMACH_TARGET=1, as make test runs them).

// buildRelay builds cmd/netrelay, the host end of the guest's
// connections.
func buildRelay(t *testing.T) string {
	t.Helper()
	relay := filepath.Join(t.TempDir(), "netrelay")
	cmd := exec.Command("go", "build", "-o", relay, "./cmd/netrelay")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building netrelay: %v\n%s", err, out)
	}
	return relay
}

// userNet is the QEMU network of a guest that reaches exactly one host
// port, at 10.0.2.100:guestPort, through netrelay.
func userNet(relay string, guestPort, hostPort int) string {
	return fmt.Sprintf("-netdev 'user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:%d-cmd:%s 127.0.0.1:%d' -net nic,netdev=n0",
		guestPort, relay, hostPort)
}

// guestRun is a booted guest whose console is read line by line.
type guestRun struct {
	cmd   *exec.Cmd
	lines chan string
	out   strings.Builder
}

// boot starts the runner on the guest with the QEMU arguments extra.
func boot(t *testing.T, g targettest.Guest, extra string, timeout time.Duration, args ...string) *guestRun {
	t.Helper()
	r := &guestRun{lines: make(chan string, 64)}
	r.cmd = exec.Command(g.Runner, append([]string{"-timeout", timeout.String(), "-extra", extra, g.Image}, args...)...)
	pr, pw := io.Pipe()
	r.cmd.Stdout, r.cmd.Stderr = pw, pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
		close(r.lines)
	}()
	go func() { r.cmd.Wait(); pw.Close() }()
	return r
}

// next returns the guest's next console line, or false at its end.
func (r *guestRun) next() (string, bool) {
	l, ok := <-r.lines
	if ok {
		r.out.WriteString(l + "\n")
	}
	return l, ok
}

// wait reads the rest of the console and returns the exit status.
func (r *guestRun) wait() int {
	for {
		if _, ok := r.next(); !ok {
			break
		}
	}
	return r.cmd.ProcessState.ExitCode()
}

// TestTargetNBDServerRestart: the guest pages anonymous memory of 4 times
// its kernel's frames to qemu-nbd on a loopback port, through its own
// TCP/IP stack, QEMU's user network (restrict=on) and netrelay; half way
// through the second round's writes the server is killed, and restarted
// only once the guest has failed to reconnect. The guest must still find
// every word right, and report the lost connection and the reconnection.
func TestTargetNBDServerRestart(t *testing.T) {
	g := targettest.Build(t, "./cmd/netdemo", false)
	srv := nbdtest.StartQemuNBD(t, 16<<20)
	relay := buildRelay(t)
	start := time.Now()
	r := boot(t, g, userNet(relay, 10809, srv.Port), 3*time.Minute, "nbd", "-frames", "1")
	killed, restarted := false, false
	for {
		l, ok := r.next()
		if !ok {
			break
		}
		switch {
		case l == "nbd: midpoint" && !killed:
			srv.Kill()
			killed = true
		case strings.HasPrefix(l, "nbd: connection dial failed") && killed && !restarted:
			srv.Start()
			restarted = true
		}
	}
	code := r.cmd.ProcessState.ExitCode()
	out := r.out.String()
	g.CheckNoQEMULeft(t)
	if code != 0 {
		t.Fatalf("exit status %d, want 0:\n%s", code, out)
	}
	if !killed || !restarted {
		t.Fatalf("server killed %v, restarted %v: the guest never reached the midpoint or never failed to reconnect:\n%s", killed, restarted, out)
	}
	if !strings.Contains(out, "nbd: verification passed: ") {
		t.Fatalf("no verification line:\n%s", out)
	}
	m := regexp.MustCompile(`lost connections (\d+), retries \d+, reconnects (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no client line:\n%s", out)
	}
	if lost, _ := strconv.Atoi(m[1]); lost == 0 {
		t.Errorf("no lost connection reported: %s", m[0])
	}
	if rec, _ := strconv.Atoi(m[2]); rec == 0 {
		t.Errorf("no reconnection reported: %s", m[0])
	}
	m = regexp.MustCompile(`(\d+) KiB of anonymous memory, (\d+) times the kernel's (\d+) frames`).FindStringSubmatch(out)
	if m == nil || m[2] != "4" {
		t.Fatalf("the run was not 4 times the kernel's frames:\n%s", out)
	}
	t.Logf("took %v:\n%s", time.Since(start), out)
}
