package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSystem makes a /sys/class/block with one disk, with the given
// removable flag, and an empty mounts file.
func fakeSystem(t *testing.T, disk, removable string, mounts string) system {
	t.Helper()
	root := t.TempDir()
	d := filepath.Join(root, "block", disk)
	os.MkdirAll(filepath.Join(d, disk+"1"), 0o755)
	os.WriteFile(filepath.Join(d, "removable"), []byte(removable+"\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "block", disk+"1"), 0o755)
	os.WriteFile(filepath.Join(root, "block", disk+"1", "partition"), []byte("1\n"), 0o644)
	m := filepath.Join(root, "mounts")
	os.WriteFile(m, []byte(mounts), 0o644)
	return system{filepath.Join(root, "block"), m}
}

// firstBlockDevice returns a block device node of this machine, if any.
func firstBlockDevice(t *testing.T) string {
	for _, pat := range []string{"/dev/loop[0-9]*", "/dev/vd[a-z]", "/dev/sd[a-z]", "/dev/nvme0n1"} {
		m, _ := filepath.Glob(pat)
		for _, d := range m {
			if fi, err := os.Stat(d); err == nil && fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0 {
				return d
			}
		}
	}
	t.Skip("no block device node on this machine to check the device rules with")
	return ""
}

func TestFlashRefusesRegularFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "disk")
	os.WriteFile(f, make([]byte, 4096), 0o644)
	err := fakeSystem(t, "sdz", "1", "").checkRemovableDisk(f)
	if err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Fatalf("a regular file: %v", err)
	}
	if b, _ := os.ReadFile(f); strings.Trim(string(b), "\x00") != "" {
		t.Fatal("the file was written")
	}
}

func TestFlashRefusesMissingDevice(t *testing.T) {
	if err := fakeSystem(t, "sdz", "1", "").checkRemovableDisk("/dev/does-not-exist"); err == nil {
		t.Fatal("a missing device was accepted")
	}
}

func TestFlashRefusesFixedDisk(t *testing.T) {
	dev := firstBlockDevice(t)
	name := filepath.Base(dev)
	err := fakeSystem(t, name, "0", "").checkRemovableDisk(dev)
	if err == nil || !strings.Contains(err.Error(), "not a removable") {
		t.Fatalf("a fixed disk: %v", err)
	}
}

func TestFlashRefusesMountedDisk(t *testing.T) {
	dev := firstBlockDevice(t)
	name := filepath.Base(dev)
	err := fakeSystem(t, name, "1", "/dev/"+name+"1 /media/card vfat rw 0 0\n").checkRemovableDisk(dev)
	if err == nil || !strings.Contains(err.Error(), "mounted") {
		t.Fatalf("a mounted disk: %v", err)
	}
}

func TestFlashAcceptsRemovableUnmountedDisk(t *testing.T) {
	dev := firstBlockDevice(t)
	if err := fakeSystem(t, filepath.Base(dev), "1", "").checkRemovableDisk(dev); err != nil {
		t.Fatalf("a removable, unmounted whole disk: %v", err)
	}
}

func TestFlashRefusesBadImage(t *testing.T) {
	img := filepath.Join(t.TempDir(), "x.imx")
	os.WriteFile(img, []byte("not an image"), 0o644)
	target := filepath.Join(t.TempDir(), "disk")
	os.WriteFile(target, nil, 0o644)
	err := flash(img, target, fakeSystem(t, "sdz", "1", ""))
	if err == nil || !strings.Contains(err.Error(), "not a bootable image") {
		t.Fatalf("a bad image: %v", err)
	}
	if fi, _ := os.Stat(target); fi.Size() != 0 {
		t.Fatal("the target was written")
	}
}
