// Command qemu boots a TamaGo image of tamach in QEMU's mcimx6ul-evk machine
// and exits with the guest's exit status.
//
// It is the runner for on-target tests, given to go test as -exec:
//
//	GOOS=tamago GOARCH=arm ... go test -exec 'bin/qemu-run' ./pmap
//
// go test then calls it as `qemu-run PKG.test -test.v=true ...`: the test
// flags are passed to the guest's os.Args through the semihosting command
// line, the guest's console (UART1) streams to stdout, and QEMU is killed
// after the guest's -test.timeout plus a grace of 5 s (or after -timeout),
// in which case the runner says so and exits 124. The same runner boots any
// image, such as the demo.
//
// Usage:
//
//	qemu-run [-icount] [-timeout D] [-m MiB] [-qemu BIN] [-sd SIZE] [-extra 'ARGS'] IMAGE [GUEST ARGS...]
//
// The guest gets an SD card in USDHC1: a fresh sparse image of -sd bytes
// (4G unless told; TAMACH_QEMU_SD sets the default; 0 for no card),
// removed when QEMU exits, unless -extra attaches an SD drive of its own.
//
// Exit status: the guest's own status; 124 on a timeout; 125 when the
// image could not be booted (no QEMU, no image, an argument that cannot be
// passed); 126 when QEMU died of a signal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(argv []string) int {
	fs := flag.NewFlagSet("qemu-run", flag.ContinueOnError)
	c := Config{QEMU: "qemu-system-arm"}
	fs.BoolVar(&c.ICount, "icount", os.Getenv("TAMACH_ICOUNT") == "1", "count instructions: guest nanoseconds are instructions (-icount shift=0,sleep=off); also TAMACH_ICOUNT=1")
	fs.DurationVar(&c.Timeout, "timeout", 0, "kill QEMU after this long (default: the guest's -test.timeout + 5s, else 10m)")
	fs.IntVar(&c.MemoryMiB, "m", 512, "guest RAM in MiB")
	fs.StringVar(&c.QEMU, "qemu", c.QEMU, "QEMU binary")
	sd := fs.String("sd", envOr("TAMACH_QEMU_SD", "4G"), "size of the guest's SD card, a fresh sparse image in USDHC1 (a power of two, at least 4G; 0: none); also TAMACH_QEMU_SD")
	extra := fs.String("extra", os.Getenv("TAMACH_QEMU_EXTRA"), "more QEMU arguments, split on spaces outside single quotes; also TAMACH_QEMU_EXTRA")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: qemu-run [flags] IMAGE [GUEST ARGS...]")
		fs.PrintDefaults()
	}
	err := fs.Parse(argv)
	if err != nil {
		return 125
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return 125
	}
	c.Image = fs.Arg(0)
	c.Args = fs.Args()[1:]
	if c.Extra, err = splitExtra(*extra); err != nil {
		fmt.Fprintln(os.Stderr, "qemu-run: -extra:", err)
		return 125
	}
	size, err := parseSize(*sd)
	if err != nil || (size != 0 && !SDSizeOK(size)) {
		fmt.Fprintf(os.Stderr, "qemu-run: -sd %q: want 0 or a power of two of at least 4G (such as 4G, 8G)\n", *sd)
		return 125
	}
	c.SDSize = size

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := Run(ctx, &c, os.Stdin, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, ErrTimeout):
		fmt.Fprintf(os.Stderr, "qemu-run: %s %v\n", c.Image, err)
		return 124
	case errors.Is(err, ErrKilled):
		fmt.Fprintf(os.Stderr, "qemu-run: %s: %v\n", c.Image, err)
		return 126
	case err != nil:
		fmt.Fprintf(os.Stderr, "qemu-run: %s: %v\n", c.Image, err)
		return 125
	}
	return code
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		case 'T', 't':
			mult = 1 << 40
		}
		if mult != 1 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}

// splitExtra splits QEMU arguments on spaces, except inside single quotes,
// which group (a guestfwd's cmd: has spaces) and are removed.
func splitExtra(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inArg = !quoted, true
		case (r == ' ' || r == '\t' || r == '\n') && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated single quote")
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}
