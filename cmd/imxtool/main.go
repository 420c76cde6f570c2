// Command imxtool makes and checks boot images for the i.MX6 boot ROM
// (USB armory Mk II), around mkimage -T imximage:
//
//	imxtool bin -base 0x80010000 ELF OUT.bin   flat binary of the ELF, bss included
//	imxtool entry ELF IMAGE.imx                 set the IVT entry to the ELF's entry point
//	imxtool check IMAGE.imx                     parse and check IVT, boot data and DCD
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/tamach/tamach/board/imx"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "imxtool:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: imxtool bin|entry|check ...")
	}
	switch args[0] {
	case "bin":
		fs := flag.NewFlagSet("bin", flag.ContinueOnError)
		baseFlag := fs.String("base", "0x80010000", "load address of the flat binary")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 2 {
			return fmt.Errorf("usage: imxtool bin [-base ADDR] ELF OUT")
		}
		base, err := strconv.ParseUint(*baseFlag, 0, 32)
		if err != nil {
			return fmt.Errorf("bad -base: %v", err)
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		bin, _, err := imx.FlatBinary(f, uint32(base))
		if err != nil {
			return err
		}
		return os.WriteFile(fs.Arg(1), bin, 0o644)
	case "entry":
		if len(args) != 3 {
			return fmt.Errorf("usage: imxtool entry ELF IMAGE")
		}
		f, err := os.Open(args[1])
		if err != nil {
			return err
		}
		defer f.Close()
		entry, err := imx.Entry(f)
		if err != nil {
			return err
		}
		img, err := os.ReadFile(args[2])
		if err != nil {
			return err
		}
		if err := imx.PatchEntry(img, entry); err != nil {
			return err
		}
		return os.WriteFile(args[2], img, 0o644)
	case "check":
		if len(args) != 2 {
			return fmt.Errorf("usage: imxtool check IMAGE")
		}
		img, err := os.ReadFile(args[1])
		if err != nil {
			return err
		}
		im, err := imx.Parse(img)
		if err != nil {
			return err
		}
		fmt.Printf("IVT at file offset %#x, version %#x: entry %#x, self %#x, DCD %#x, boot data %#x, CSF %#x\n",
			im.IVT.Offset, im.IVT.Version, im.IVT.Entry, im.IVT.Self, im.IVT.DCD, im.IVT.BootData, im.IVT.CSF)
		fmt.Printf("boot data: load %#x, %d bytes, IVT %#x into it; DCD: %d register writes\n", im.BootData.Start, im.BootData.Length, im.LoadOffset(), len(im.DCD))
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}
