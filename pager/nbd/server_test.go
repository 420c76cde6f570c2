package nbd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireServers is set by `make test` (TAMACH_NBD=required): a missing
// qemu-nbd then fails the test instead of skipping it.
var requireServers = os.Getenv("TAMACH_NBD") == "required"

// qemuNBD is a qemu-nbd process serving one raw image file on a loopback
// port of its own, which it keeps across restarts.
type qemuNBD struct {
	t      testing.TB
	image  string
	export string
	port   int
	pid    int
}

// needTool finds a host command, skipping the test when it is missing,
// or failing it under make test.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%s not found: install Debian's %s (scripts/deps.sh %s, run by make test)", name, pkg, name)
		if requireServers {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// freePort picks a loopback port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startQemuNBD makes a sparse image of size bytes and serves it as export
// "tamach". The server is stopped when the test ends.
func startQemuNBD(t testing.TB, size int64) *qemuNBD {
	t.Helper()
	needTool(t, "qemu-nbd", "qemu-utils")
	dir := t.TempDir()
	s := &qemuNBD{t: t, image: filepath.Join(dir, "store.img"), export: "tamach"}
	f, err := os.Create(s.image)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var last error
	for try := 0; try < 5; try++ { // another process may take the port first
		s.port = freePort(t)
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
func (s *qemuNBD) start() error {
	pidFile := s.image + ".pid"
	os.Remove(pidFile)
	cmd := exec.Command("qemu-nbd", "--fork", "--pid-file", pidFile, "--persistent", "--shared", "8",
		"--format", "raw", "--cache", "writeback", "--export-name", s.export,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), s.image)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
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

// Start restarts a killed server on the same port.
func (s *qemuNBD) Start() {
	s.t.Helper()
	var err error
	for try := 0; try < 3; try++ {
		if err = s.start(); err == nil {
			return
		}
	}
	s.t.Errorf("restarting qemu-nbd on port %d: %v", s.port, err)
}

// Kill stops the server with SIGKILL (no orderly shutdown) and waits
// until the process is gone or a zombie, so its port is closed.
func (s *qemuNBD) Kill() {
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

func (s *qemuNBD) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// dialer dials addr on loopback.
func dialer(addr string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}
