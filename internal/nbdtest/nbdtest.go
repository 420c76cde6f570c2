// Package nbdtest starts real NBD servers (qemu-nbd) on loopback for tests:
// the NBD client's own tests, and the host tests that boot guests paging
// over the network.
package nbdtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Required is set by `make test` (TAMACH_NBD=required): a missing
// qemu-nbd then fails the test instead of skipping it.
var Required = os.Getenv("TAMACH_NBD") == "required"

// QemuNBD is a qemu-nbd process serving one raw image file on a loopback
// port of its own, which it keeps across restarts.
type QemuNBD struct {
	t      testing.TB
	Image  string // the served file
	Export string // the export's name
	// Port is the port the server was started on. A restart (Start)
	// may move it when the port stays taken: Addr and Dial follow.
	Port int
	pid  int

	mu   sync.Mutex
	port int // the port now: Port, or where Start moved the server
}

// NeedTool finds a host command, skipping the test when it is missing, or
// failing it when Required.
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not found: install Debian's %s (scripts/deps.sh %s, run by make test)", name, pkg, name)
		if Required {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// FreePort picks a loopback port nobody listens on now, below the
// kernel's range of ephemeral ports (net.ipv4.ip_local_port_range). A
// port from that range (what listening on port 0 gives) may become the
// local end of any outgoing connection on the machine, another test's
// among them, between a server's kill and its restart; then the restart
// fails and the test waits for a server that never comes back.
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	for try := 0; try < 200; try++ {
		port := firstPort + rand.IntN(low-firstPort)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	t.Fatalf("no free loopback port in %d-%d", firstPort, low-1)
	return 0
}

// firstPort is the lowest port FreePort picks: above the usual fixed
// ports of local services.
const firstPort = 10000

// ephemeralLow returns the first port of the kernel's ephemeral range, or
// Linux's default when it cannot be read.
func ephemeralLow() int {
	const linuxDefault = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return linuxDefault
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= firstPort+1000 {
		return linuxDefault
	}
	return low
}

// StartQemuNBD makes a sparse image of size bytes and serves it as export
// "tamach". The server is stopped when the test ends.
func StartQemuNBD(t testing.TB, size int64) *QemuNBD {
	t.Helper()
	NeedTool(t, "qemu-nbd", "qemu-utils")
	dir := t.TempDir()
	s := &QemuNBD{t: t, Image: filepath.Join(dir, "store.img"), Export: "tamach"}
	f, err := os.Create(s.Image)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var last error
	for try := 0; try < 5; try++ { // another process may take the port first
		s.Port = FreePort(t)
		s.port = s.Port
		if last = s.start(); last == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("qemu-nbd would not start: %v", last)
	return nil
}

// start runs qemu-nbd with --fork: the command returns once the server
// listens, and leaves the server's pid in a file.
func (s *QemuNBD) start() error {
	pidFile := s.Image + ".pid"
	os.Remove(pidFile)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-nbd", "--fork", "--pid-file", pidFile, "--persistent", "--shared", "8",
		"--format", "raw", "--cache", "writeback", "--export-name", s.Export,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.currentPort()), s.Image)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-nbd: %v: %s", err, out)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return err
	}
	s.pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
	return err
}

// Start restarts a killed server on the same port, trying for up to
// five seconds: the port may stay taken a moment after the kill (another
// process probing it, as FreePort does). Then it moves the server to a
// free port, which Addr and Dial follow, and logs the move; a client
// that dials a fixed address (a relay's) then fails as it would have.
func (s *QemuNBD) Start() {
	s.t.Helper()
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err = s.start(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	old := s.currentPort()
	for try := 0; try < 5; try++ {
		s.mu.Lock()
		s.port = FreePort(s.t)
		s.mu.Unlock()
		var moved error
		if moved = s.start(); moved == nil {
			s.t.Logf("qemu-nbd: port %d stayed taken (%v); restarted on port %d", old, err, s.currentPort())
			return
		}
	}
	s.t.Errorf("restarting qemu-nbd on port %d: %v", old, err)
}

func (s *QemuNBD) currentPort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Kill stops the server with SIGKILL (no orderly shutdown) and waits
// until the process is gone or a zombie, so its port is closed.
func (s *QemuNBD) Kill() {
	if s.pid <= 0 {
		return
	}
	pid := s.pid
	s.pid = 0
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 2000; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		// The state follows the command name in parentheses.
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
			return
		}
		time.Sleep(time.Millisecond)
	}
	s.t.Errorf("qemu-nbd %d still running after SIGKILL", pid)
}

// Addr is the server's host:port now.
func (s *QemuNBD) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.currentPort())) }

// Dial connects to the server where it is now (a client's Dial that
// follows a restart that moved the port).
func (s *QemuNBD) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.Addr())
}

// Dialer dials addr on loopback.
func Dialer(addr string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}
