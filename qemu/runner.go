package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Config says how to boot one image.
type Config struct {
	// QEMU is the emulator binary (qemu-system-arm).
	QEMU string
	// Image is the TamaGo ELF to boot.
	Image string
	// Args are the guest's arguments after its name (os.Args[1:]).
	Args []string
	// MemoryMiB is the guest's RAM (-m).
	MemoryMiB int
	// Timeout, if non-zero, is when QEMU is killed. Zero takes the guest's
	// -test.timeout plus Grace, or DefaultTimeout.
	Timeout time.Duration
	// ICount makes guest time count instructions (-icount shift=0,sleep=off):
	// one instruction per virtual nanosecond, repeatable from run to run.
	ICount bool
	// Extra are more QEMU arguments (drives, network), appended last.
	Extra []string
	// SDSize, if non-zero, gives the guest an SD card in USDHC1 (QEMU's
	// -drive if=sd,index=0): a fresh sparse image of that many bytes,
	// made in the temporary directory for this run and removed after
	// it, unless Extra already attaches an SD drive. See SDSizeOK.
	SDSize int64
	// SDImage, if set, is the SD card's image file (set by Run from
	// SDSize).
	SDImage string
}

// DefaultSDSize is the runner's SD card: 4 GiB, the smallest size at
// which QEMU's SD card model behaves (a high-capacity card; see
// DESIGN.md, Devices under QEMU). The image is sparse: it costs the
// blocks the guest writes.
const DefaultSDSize = 4 << 30

// SDSizeOK says whether size is a usable SD image size: a power of two
// of at least 4 GiB (QEMU's model mishandles cards of 2 GB or less).
func SDSizeOK(size int64) bool {
	return size >= 4<<30 && size&(size-1) == 0
}

// hasSDDrive reports whether extra QEMU arguments attach an SD drive.
func hasSDDrive(extra []string) bool {
	for _, a := range extra {
		if strings.Contains(a, "if=sd") {
			return true
		}
	}
	return false
}

const (
	// DefaultTimeout applies when neither Config.Timeout nor -test.timeout
	// says otherwise: the same as go test's default.
	DefaultTimeout = 10 * time.Minute
	// Grace is added to the guest's -test.timeout, so that the testing
	// package's own timeout report comes out first when the guest can
	// still run it.
	Grace = 5 * time.Second
)

var (
	// ErrTimeout is returned by Run when QEMU was killed at the timeout.
	ErrTimeout = errors.New("timed out")
	// ErrKilled is returned by Run when QEMU died of a signal it was not
	// sent by the runner.
	ErrKilled = errors.New("QEMU died of a signal")
)

// TestTimeout returns the value of a -test.timeout flag in args, if any.
func TestTimeout(args []string) (time.Duration, bool, error) {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "test.timeout" {
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return 0, false, fmt.Errorf("-test.timeout needs a value")
			}
			value = args[i+1]
		}
		d, err := time.ParseDuration(value)
		if err != nil {
			return 0, false, fmt.Errorf("bad -test.timeout %q: %v", value, err)
		}
		return d, true, nil
	}
	return 0, false, nil
}

// EffectiveTimeout returns when QEMU is to be killed.
func (c *Config) EffectiveTimeout() (time.Duration, error) {
	if c.Timeout > 0 {
		return c.Timeout, nil
	}
	d, ok, err := TestTimeout(c.Args)
	if err != nil {
		return 0, err
	}
	if ok && d > 0 {
		return d + Grace, nil
	}
	return DefaultTimeout, nil
}

// semihostingArgs returns the -semihosting-config value that hands name and
// args to the guest's SYS_GET_CMDLINE. The guest splits the command line
// on spaces, so an argument that holds a space, or is empty, cannot be
// passed and is an error. A comma is doubled, as QEMU's option syntax
// wants.
func semihostingArgs(name string, args []string) (string, error) {
	var b strings.Builder
	b.WriteString("enable=on,target=native")
	for _, a := range append([]string{name}, args...) {
		if a == "" {
			return "", fmt.Errorf("an empty argument cannot reach the guest")
		}
		if strings.ContainsAny(a, " \t\n") {
			return "", fmt.Errorf("argument %q holds white space, which the guest's command line cannot carry", a)
		}
		b.WriteString(",arg=")
		b.WriteString(strings.ReplaceAll(a, ",", ",,"))
	}
	if b.Len() > 4000 {
		return "", fmt.Errorf("command line of %d bytes is longer than the guest's 4 KiB buffer", b.Len())
	}
	return b.String(), nil
}

// QEMUArgs returns the emulator's command line for c.
func (c *Config) QEMUArgs() ([]string, error) {
	semi, err := semihostingArgs(filepath.Base(c.Image), c.Args)
	if err != nil {
		return nil, err
	}
	mem := c.MemoryMiB
	if mem == 0 {
		mem = 512
	}
	args := []string{
		"-machine", "mcimx6ul-evk", "-cpu", "cortex-a7",
		"-m", fmt.Sprintf("%dM", mem),
		"-nographic", "-monitor", "none",
		"-serial", "stdio", "-serial", "null",
		"-nic", "none",
		"-semihosting-config", semi,
		"-kernel", c.Image,
	}
	if c.ICount {
		args = append(args, "-icount", "shift=0,sleep=off")
	}
	if c.SDImage != "" {
		if strings.Contains(c.SDImage, ",") {
			return nil, fmt.Errorf("SD image path %q holds a comma", c.SDImage)
		}
		args = append(args, "-drive", "if=sd,index=0,format=raw,file="+c.SDImage)
	}
	return append(args, c.Extra...), nil
}

// Run boots the image and waits for it. The guest's console goes to
// stdout as it is written, stdin goes to the guest's console, and QEMU's
// own messages go to stderr (less its warnings about the board's unused
// network interfaces). It returns the guest's exit status, or an error:
// ErrTimeout when QEMU had to be killed, or why QEMU could not run.
// QEMU runs in a process group of its own, killed whole at the timeout, on
// ctx's cancellation, and if the runner itself dies, so that no emulator
// outlives the runner.
func Run(ctx context.Context, c *Config, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if _, err := os.Stat(c.Image); err != nil {
		return 0, fmt.Errorf("image: %v", err)
	}
	qemu, err := exec.LookPath(c.QEMU)
	if err != nil {
		return 0, fmt.Errorf("%s not found: install it (Debian: apt-get install qemu-system-arm; or run make deps as root)", c.QEMU)
	}
	timeout, err := c.EffectiveTimeout()
	if err != nil {
		return 0, err
	}
	if c.SDSize != 0 && c.SDImage == "" && !hasSDDrive(c.Extra) {
		img, err := sparseImage(c.SDSize)
		if err != nil {
			return 0, err
		}
		defer os.Remove(img)
		cc := *c
		cc.SDImage = img
		c = &cc
	}
	args, err := c.QEMUArgs()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(qemu, args...)
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	cmd.SysProcAttr = processGroup()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %v", qemu, err)
	}
	filtered := make(chan struct{})
	go func() {
		filterStderr(errPipe, stderr)
		close(filtered)
	}()
	waited := make(chan error, 1)
	go func() {
		<-filtered
		waited <- cmd.Wait()
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var werr error
	killed := error(nil)
	select {
	case werr = <-waited:
	case <-timer.C:
		killGroup(cmd.Process.Pid)
		werr = <-waited
		killed = fmt.Errorf("%w after %v: QEMU killed", ErrTimeout, timeout)
	case <-ctx.Done():
		killGroup(cmd.Process.Pid)
		werr = <-waited
		killed = fmt.Errorf("%v: QEMU killed", ctx.Err())
	}
	// Whatever the guest left behind in its process group goes too.
	killGroup(cmd.Process.Pid)
	if killed != nil {
		return 0, killed
	}
	var exit *exec.ExitError
	if errors.As(werr, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 0, fmt.Errorf("%w: %v", ErrKilled, ws.Signal())
		}
		return exit.ExitCode(), nil
	}
	if werr != nil {
		return 0, werr
	}
	return 0, nil
}

// sparseImage makes an empty sparse file of size bytes in the temporary
// directory and returns its path.
func sparseImage(size int64) (string, error) {
	if !SDSizeOK(size) {
		return "", fmt.Errorf("SD image size %d: want a power of two of at least 4 GiB", size)
	}
	f, err := os.CreateTemp("", "tamach-sd-*.img")
	if err != nil {
		return "", fmt.Errorf("SD image: %v", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("SD image: %v", err)
	}
	return f.Name(), nil
}

// noPeer matches QEMU's warnings about the mcimx6ul-evk's two Ethernet
// controllers when no network is attached: noise in every run.
func noPeer(line string) bool {
	return strings.HasPrefix(line, "qemu-system-arm: warning: nic imx.enet.") && strings.HasSuffix(line, " has no peer")
}

func filterStderr(r io.Reader, w io.Writer) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		if !noPeer(s.Text()) {
			fmt.Fprintln(w, s.Text())
		}
	}
	io.Copy(io.Discard, r)
}
