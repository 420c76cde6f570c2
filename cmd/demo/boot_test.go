//go:build !tamago

package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tamach/tamach/cmd/demo/internal/shell"
	"github.com/tamach/tamach/internal/targettest"
)

// Host tests that build the demo with the TamaGo compiler and boot it in
// QEMU (TAMACH_TARGET=1, as make test runs them).

// TestTargetDemo runs the demo as make qemu does: it must exit 0 within
// two minutes, verify its result, page out, and print vmstat lines and
// the object table.
func TestTargetDemo(t *testing.T) {
	g := targettest.Build(t, "./cmd/demo", false)
	code, out, took := g.Run(t, "-interval", "2s")
	if code != 0 {
		t.Fatalf("exit status %d, want 0:\n%s", code, out)
	}
	if took > 2*time.Minute {
		t.Errorf("the demo took %v, more than two minutes", took)
	}
	for _, want := range []string{
		"verification passed: 2097152 records, rounds: 3",
		"    time   free  resid   faults",
		"object       size  mapped at",
		"     1     32 MiB  0xc0000000   anonymous",
		"pager round trip (data_request to answer)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`totals: faults (\d+), page-ins (\d+), page-outs (\d+), evictions (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no totals line:\n%s", out)
	}
	if outs, _ := strconv.Atoi(m[3]); outs == 0 {
		t.Errorf("no page-outs: %s", m[0])
	}
	if n := len(regexp.MustCompile(`(?m)^ +\d+\.\ds +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ \|`).FindAllString(out, -1)); n < 2 {
		t.Errorf("%d vmstat lines, want at least 2:\n%s", n, out)
	}
	t.Logf("demo took %v", took)
}

// console is a demo booted with -shell, driven through its serial port.
type console struct {
	t      *testing.T
	stdin  io.WriteCloser
	chunks chan []byte
	out    bytes.Buffer // everything read so far
	seen   int          // how much of out the answers have used up
	cmd    *exec.Cmd
}

// upTo reads the console until s appears after what was used up, and
// returns the text before it.
func (c *console) upTo(s string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if i := bytes.Index(c.out.Bytes()[c.seen:], []byte(s)); i >= 0 {
			text := string(c.out.Bytes()[c.seen : c.seen+i])
			c.seen += i + len(s)
			return text
		}
		select {
		case b, ok := <-c.chunks:
			if !ok {
				c.t.Fatalf("the console ended before %q:\n%s", s, c.out.String())
			}
			c.out.Write(b)
		case <-deadline.C:
			c.t.Fatalf("no %q within %v:\n%s", s, timeout, c.out.String())
		}
	}
}

// do types a command line and returns the answer: what the console
// printed after echoing it, up to the next prompt.
func (c *console) do(line string) string {
	c.t.Helper()
	fmt.Fprintf(c.stdin, "%s\r", line)
	echo := c.upTo("\n", 30*time.Second)
	if echo != line {
		c.t.Errorf("echo %q, want %q", echo, line)
	}
	return c.upTo(shell.Prompt, 30*time.Second)
}

// TestTargetConsole boots the demo with -shell and checks the answer of
// every command through QEMU's serial port, bad ones included, and that
// exit ends the program with status 0.
func TestTargetConsole(t *testing.T) {
	g := targettest.Build(t, "./cmd/demo", false)
	cmd := exec.Command(g.Runner, "-timeout", "3m", g.Image, "-shell")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &console{t: t, stdin: stdin, chunks: make(chan []byte, 64), cmd: cmd}
	go func() {
		defer close(c.chunks)
		for {
			b := make([]byte, 4096)
			n, err := pr.Read(b)
			if n > 0 {
				c.chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); pw.Close() }()
	defer func() {
		cmd.Process.Kill()
		g.CheckNoQEMULeft(t)
	}()

	boot := c.upTo(shell.Prompt, 2*time.Minute)
	if !strings.Contains(boot, "verification passed") {
		t.Errorf("the run before the console did not pass:\n%s", boot)
	}
	m := regexp.MustCompile(`scratch: 64 KiB of anonymous memory at (0x[0-9a-f]+)`).FindStringSubmatch(boot)
	if m == nil {
		t.Fatalf("no scratch region announced:\n%s", boot)
	}
	scratch := m[1]

	checks := []struct {
		line string
		want []string
	}{
		{"help", []string{"vmstat", "objects", "pages OBJECT", "stores", "trace on|off", "touch ADDRESS", "help"}},
		{"vmstat", []string{"    time   free  resid   faults  page-in page-out    evict"}},
		{"objects", []string{"     1      4 MiB  0xc0000000   anonymous", "     2     64 KiB  " + scratch + "   anonymous             0       -          0"}},
		{"pages 1", []string{"object 1: ", "   offsets                  pages  store  slots", "      1  0-"}},
		{"stores", []string{"    1         0   16 KiB     73728", "RAM over the board's store region 0x8e000000-0x9fffffff (288 MiB)", "288 MiB total"}},
		{"trace on", []string{"trace on"}},
		{"touch " + scratch, []string{"touch " + scratch + ": read 0x00 (object 2 offset 0x0): ", "1 page-in(s) (1 zero-filled by the kernel: never paged out)"}},
		{"touch " + scratch, []string{"resident and mapped: no fault"}},
		{"trace off", []string{"trace off"}},
		{"touch 0xc3f00000", []string{"fault report (vm): read at 0xc3f00000: no mapping", "in the window 0xc0000000-0xc3ffffff (64 MiB) but in no mapping", "0xc0000000-0xc03fffff     4 MiB  object 1", "not touched"}},
		{"touch 0x8", []string{"read at 0x00000008: no mapping", "outside the kernel's window"}},
		{"touch 0xc00000000", []string{"error: address \"0xc00000000\" does not fit in 32 bits"}},
		{"touch zz", []string{`error: bad address "zz"`}},
		{"pages 99", []string{"error: no object 99"}},
		{"pages", []string{"error: usage: pages OBJECT"}},
		{"trace sideways", []string{"error: usage: trace on|off"}},
		{"frobnicate", []string{`error: unknown command "frobnicate"`}},
	}
	for _, ch := range checks {
		a := c.do(ch.line)
		for _, w := range ch.want {
			if !strings.Contains(a, w) {
				t.Errorf("%q: answer lacks %q:\n%s", ch.line, w, a)
			}
		}
	}
	// The faults of the two touches, since the first vmstat.
	a := c.do("vmstat")
	f := regexp.MustCompile(`(?m)^ +\d+\.\ds +\d+ +\d+ +(\d+) +(\d+) `).FindStringSubmatch(a)
	if f == nil || f[1] == "0" || f[2] != "1" {
		t.Errorf("vmstat after the touches: want faults and one page-in:\n%s", a)
	}
	fmt.Fprintf(stdin, "exit\r")
	if bye := c.upTo("bye", 30*time.Second); !strings.Contains(bye, "exit") {
		t.Errorf("no echo of exit: %q", bye)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("the demo exited with %v after exit:\n%s", err, c.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the demo did not end after exit:\n%s", c.out.String())
	}
}
