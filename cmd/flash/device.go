package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// system is where device facts come from: the real /sys, /dev and
// /proc/mounts, or a fake tree in tests.
type system struct {
	sysBlock string // /sys/class/block
	mounts   string // /proc/mounts
}

func hostSystem() system { return system{"/sys/class/block", "/proc/mounts"} }

// checkRemovableDisk returns nil only for a block device that is a whole
// disk, marked removable by the kernel, with nothing of it mounted.
func (s system) checkRemovableDisk(dev string) error {
	fi, err := os.Stat(dev)
	if err != nil {
		return fmt.Errorf("%s: %v", dev, err)
	}
	if fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
		return fmt.Errorf("%s is not a block device", dev)
	}
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return err
	}
	name := filepath.Base(real)
	dir := filepath.Join(s.sysBlock, name)
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		return fmt.Errorf("%s is a partition: give the whole device", dev)
	}
	// A whole disk has a "removable" attribute of its own.
	rem, err := os.ReadFile(filepath.Join(dir, "removable"))
	if err != nil {
		return fmt.Errorf("%s: no removable attribute in %s: %v", dev, dir, err)
	}
	if strings.TrimSpace(string(rem)) != "1" {
		return fmt.Errorf("%s is not a removable device: refusing to overwrite a fixed disk", dev)
	}
	m, err := os.Open(s.mounts)
	if err != nil {
		return err
	}
	defer m.Close()
	sc := bufio.NewScanner(m)
	for sc.Scan() {
		src := strings.Fields(sc.Text())
		if len(src) == 0 {
			continue
		}
		mounted := filepath.Base(src[0])
		if src[0] == real || strings.HasPrefix(src[0], "/dev/") && strings.HasPrefix(mounted, name) {
			return fmt.Errorf("%s is mounted (%s): unmount it first", dev, sc.Text())
		}
	}
	return sc.Err()
}
