package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tamach/tamach/internal/targettest"
)

func TestSemihostingArgsEscapeCommas(t *testing.T) {
	got, err := semihostingArgs("pmap.test", []string{"-test.run=A,B", "-test.v=true"})
	if err != nil {
		t.Fatal(err)
	}
	want := "enable=on,target=native,arg=pmap.test,arg=-test.run=A,,B,arg=-test.v=true"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSemihostingArgsRefuseWhatCannotPass(t *testing.T) {
	for _, args := range [][]string{{"a b"}, {""}, {"x\ty"}, {strings.Repeat("x", 5000)}} {
		if _, err := semihostingArgs("p", args); err == nil {
			t.Errorf("semihostingArgs(%q) succeeded, want an error", args)
		}
	}
}

func TestTimeoutFromTestFlags(t *testing.T) {
	cases := []struct {
		args []string
		want time.Duration
		ok   bool
	}{
		{[]string{"-test.v=true", "-test.timeout=3m0s"}, 3 * time.Minute, true},
		{[]string{"--test.timeout", "2s"}, 2 * time.Second, true},
		{[]string{"-test.v"}, 0, false},
	}
	for _, c := range cases {
		d, ok, err := TestTimeout(c.args)
		if err != nil || d != c.want || ok != c.ok {
			t.Errorf("TestTimeout(%q) = %v, %v, %v; want %v, %v", c.args, d, ok, err, c.want, c.ok)
		}
	}
	if _, _, err := TestTimeout([]string{"-test.timeout=soon"}); err == nil {
		t.Error("a bad -test.timeout was accepted")
	}
}

func TestEffectiveTimeout(t *testing.T) {
	c := Config{Args: []string{"-test.timeout=10s"}}
	if d, _ := c.EffectiveTimeout(); d != 10*time.Second+Grace {
		t.Errorf("from -test.timeout: %v", d)
	}
	c.Timeout = time.Second
	if d, _ := c.EffectiveTimeout(); d != time.Second {
		t.Errorf("explicit: %v", d)
	}
	c = Config{Args: []string{"-test.timeout=0s"}}
	if d, _ := c.EffectiveTimeout(); d != DefaultTimeout {
		t.Errorf("disabled test timeout: %v", d)
	}
}

func TestQEMUArgsCountInstructionsWhenAsked(t *testing.T) {
	c := Config{Image: "/x/demo.elf", ICount: true, Extra: []string{"-drive", "if=sd"}}
	args, err := c.QEMUArgs()
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, w := range []string{"-machine mcimx6ul-evk", "-m 512M", "-icount shift=0,sleep=off", "arg=demo.elf", "-kernel /x/demo.elf", "-drive if=sd"} {
		if !strings.Contains(line, w) {
			t.Errorf("%q lacks %q", line, w)
		}
	}
}

func TestNoPeerWarningsAreFiltered(t *testing.T) {
	in := "qemu-system-arm: warning: nic imx.enet.0 has no peer\nreal error\nqemu-system-arm: warning: nic imx.enet.1 has no peer\n"
	var out bytes.Buffer
	filterStderr(strings.NewReader(in), &out)
	if out.String() != "real error\n" {
		t.Fatalf("filtered stderr = %q", out.String())
	}
}

func TestRunRefusesMissingQEMU(t *testing.T) {
	img := filepath.Join(t.TempDir(), "img")
	os.WriteFile(img, []byte("x"), 0o644)
	c := Config{QEMU: "qemu-system-arm-that-does-not-exist", Image: img}
	_, err := Run(t.Context(), &c, nil, os.Stdout, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "apt-get install qemu-system-arm") {
		t.Fatalf("Run with no QEMU: %v, want a message saying how to install it", err)
	}
}

// The tests below boot real guests (qemu/testdata/guest) and need QEMU and
// the TamaGo compiler; make test runs them with TAMACH_TARGET=1.

func buildGuest(t *testing.T) targettest.Guest {
	return targettest.Build(t, "./qemu/testdata/guest", true)
}

func TestTargetRunnerReportsGuestOutcomes(t *testing.T) {
	g := buildGuest(t)
	cases := []struct {
		test string
		code int
		want string
	}{
		{"TestPasses", 0, "--- PASS: TestPasses"},
		{"TestFails", 1, "failing on purpose"},
		{"TestPanics", 2, "panicking on purpose"},
		{"TestBadAccess", 2, "exception"},
	}
	for _, c := range cases {
		code, out, _ := g.Run(t, "-test.run=^"+c.test+"$", "-test.v=true", "-test.timeout=60s")
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, want %d, output containing %q:\n%s", c.test, code, c.code, c.want, out)
		}
	}
}

func TestTargetRunnerKillsHungGuest(t *testing.T) {
	g := buildGuest(t)
	const timeout = 3 * time.Second
	code, out, d := g.Run(t, "-test.run=^TestHangs$", "-test.timeout="+timeout.String())
	if code != 124 || !strings.Contains(out, "timed out") {
		t.Errorf("hung guest: exit %d, want 124 and a timeout message:\n%s", code, out)
	}
	if d > timeout+Grace+10*time.Second {
		t.Errorf("hung guest ended after %v, later than its timeout %v plus 10 s", d, timeout+Grace)
	}
}

func TestTargetRunSelectsOneTestVerbosely(t *testing.T) {
	g := buildGuest(t)
	code, out, _ := g.Run(t, "-test.run=^TestAlsoPasses$", "-test.v=true")
	if code != 0 || !strings.Contains(out, "=== RUN   TestAlsoPasses") || strings.Contains(out, "TestPasses") {
		t.Errorf("-test.run=^TestAlsoPasses$ -test.v: exit %d, output:\n%s", code, out)
	}
	code, out, _ = g.Run(t, "-test.run=^TestAlsoPasses$")
	if code != 0 || strings.Contains(out, "=== RUN") {
		t.Errorf("without -test.v the run is verbose or failed: exit %d, output:\n%s", code, out)
	}
}
