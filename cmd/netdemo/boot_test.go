//go:build !tamago

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamach/tamach/internal/nbdtest"
	"github.com/tamach/tamach/internal/targettest"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/mo/moremote"
	"github.com/tamach/tamach/pager/coherence"
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

// TestTargetDHCPThenNBD: the guest takes its address from the DHCP server
// of QEMU's user network (netdemo -dhcp), which must give 10.0.2.15/24 via
// 10.0.2.2, and then writes and reads back NBD pages over TCP with that
// configuration, through netrelay to qemu-nbd. The network is not
// restricted here: slirp's DHCP server leaves out the router (option 3)
// under restrict=on (libslirp bootp.c); the guest still reaches only the
// guestfwd address.
func TestTargetDHCPThenNBD(t *testing.T) {
	g := targettest.Build(t, "./cmd/netdemo", false)
	srv := nbdtest.StartQemuNBD(t, 1<<20)
	relay := buildRelay(t)
	network := strings.Replace(userNet(relay, 10809, srv.Port), "restrict=on,", "", 1)
	r := boot(t, g, network, 2*time.Minute, "-dhcp", "rtt", "-n", "16")
	code := r.wait()
	out := r.out.String()
	g.CheckNoQEMULeft(t)
	if code != 0 {
		t.Fatalf("exit status %d, want 0:\n%s", code, out)
	}
	for _, want := range []string{
		"dhcp: lease address 10.0.2.15/24, gateway 10.0.2.2, server 10.0.2.2, lease ",
		"network: ENET1 02:74:61:6d:61:01, address 10.0.2.15/24, gateway 10.0.2.2\n",
		"rtt: NBD write ",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in the output:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}

// Layout of the shared object, as count_tamago.go has it.
const (
	sharedSize = 256 << 10
	offCounter = 64 << 10
	offOther   = 192<<10 + 4092
)

// TestTargetTwoGuestsCountUnderASharedLock: two QEMU guests map object 1
// of a coherence pager served over TCP (pager/coherence exported by
// mo/moremote on a loopback port, each guest reaching it through its own
// user network and netrelay) and each adds to two counters, in the second
// and fourth granule, under Peterson's lock kept in the first; both sync
// the object before they exit. The two meet in the object before they
// count, so that they count at the same time. The pager's copy must then
// hold the exact sums, and the granules must have moved between the
// machines.
func TestTargetTwoGuestsCountUnderASharedLock(t *testing.T) {
	const rounds = 20
	g := targettest.Build(t, "./cmd/netdemo", false)
	relay := buildRelay(t)
	srv := moremote.NewServer()
	p, err := coherence.New(coherence.Config{Size: sharedSize, Timeout: 20 * time.Second,
		Evicted: func(ctl mo.Control) { srv.Drop(ctl) }})
	if err != nil {
		t.Fatal(err)
	}
	srv.Export(1, p)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { srv.Serve(l); close(served) }()
	defer func() { l.Close(); srv.Close(); <-served }()
	port := l.Addr().(*net.TCPAddr).Port

	start := time.Now()
	var guests [2]*guestRun
	for id := range guests {
		guests[id] = boot(t, g, userNet(relay, 7070, port), 3*time.Minute,
			"count", "-id", strconv.Itoa(id), "-rounds", strconv.Itoa(rounds))
	}
	var codes [2]int
	var wg sync.WaitGroup
	for id, r := range guests {
		wg.Add(1)
		go func() { defer wg.Done(); codes[id] = r.wait() }()
	}
	wg.Wait()
	g.CheckNoQEMULeft(t)
	for id, r := range guests {
		if codes[id] != 0 || !strings.Contains(r.out.String(), fmt.Sprintf("count: kernel %d done", id)) {
			t.Fatalf("guest %d: exit status %d:\n%s", id, codes[id], r.out.String())
		}
	}
	var b [4]byte
	p.Read(b[:], offCounter)
	c := binary.LittleEndian.Uint32(b[:])
	p.Read(b[:], offOther)
	o := binary.LittleEndian.Uint32(b[:])
	if c != 2*rounds || o != 3*rounds {
		t.Fatalf("the pager's counters: %d and %d, want %d and %d\nguest 0:\n%s\nguest 1:\n%s",
			c, o, 2*rounds, 3*rounds, guests[0].out.String(), guests[1].out.String())
	}
	s := p.Stats()
	if s.Downgrades == 0 || s.Flushes == 0 || s.Unlocks == 0 || s.Evictions != 0 {
		t.Fatalf("pager stats %+v: want downgrades, flushes and unlocks, no eviction", s)
	}
	t.Logf("took %v; pager %+v\nguest 0:\n%s\nguest 1:\n%s", time.Since(start), s, guests[0].out.String(), guests[1].out.String())
}
