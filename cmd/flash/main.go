// Command flash writes a USB armory boot image where the i.MX6 boot ROM
// reads it on an SD card (or the eMMC exposed as a USB mass-storage
// device): 1 KiB into the device (IMX6ULLRM 8.4.1, Table 8-18: image vector
// table offset 0x400 for SD/MMC).
//
//	flash IMAGE.imx /dev/sdX
//
// It refuses, writing nothing, anything that is not a whole removable
// block device with no mounted partition: a partition (/dev/sdX1), a fixed
// disk, a regular file, a mounted device. Writing needs root.
package main

import (
	"fmt"
	"os"

	"github.com/tamach/tamach/board/imx"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: flash IMAGE.imx /dev/sdX")
		os.Exit(2)
	}
	if err := flash(os.Args[1], os.Args[2], hostSystem()); err != nil {
		fmt.Fprintln(os.Stderr, "flash:", err)
		os.Exit(1)
	}
}

func flash(imagePath, dev string, sys system) error {
	img, err := os.ReadFile(imagePath)
	if err != nil {
		return err
	}
	im, err := imx.Parse(img)
	if err != nil {
		return fmt.Errorf("%s is not a bootable image: %v", imagePath, err)
	}
	if err := sys.checkRemovableDisk(dev); err != nil {
		return err
	}
	f, err := os.OpenFile(dev, os.O_WRONLY|os.O_SYNC, 0)
	if err != nil {
		return err
	}
	n, err := f.WriteAt(img, int64(im.LoadOffset()))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %v", dev, err)
	}
	fmt.Printf("flash: wrote %d bytes to %s at offset %#x\n", n, dev, im.LoadOffset())
	return nil
}
