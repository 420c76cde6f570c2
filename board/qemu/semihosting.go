//go:build tamago

package qemu

import (
	"strings"
	"unsafe"
)

// ARM semihosting operations (Semihosting for AArch32 and AArch64, Arm
// IHI 0056, section 5: SYS_GET_CMDLINE 0x15, SYS_EXIT_EXTENDED 0x20).
const (
	sysGetCmdline  = 0x15
	sysExitExtend  = 0x20
	adpStoppedExit = 0x20026 // ADP_Stopped_ApplicationExit
)

// defined in semihosting_arm.s
func semihostingCall(op uint32, arg uintptr) int32

// semihostingExit ends the emulation with the given exit code: QEMU exits
// with the same status. It does not return.
func semihostingExit(code int32) {
	block := [2]uint32{adpStoppedExit, uint32(code)}
	semihostingCall(sysExitExtend, uintptr(unsafe.Pointer(&block)))
	for {
		// unreachable under QEMU started with -semihosting
	}
}

// semihostingArgs returns the command line QEMU was given with
// -semihosting-config arg=..., split on spaces, or nil if there is none.
func semihostingArgs() []string {
	var buf [4096]byte
	block := [2]uint32{uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf))}
	if semihostingCall(sysGetCmdline, uintptr(unsafe.Pointer(&block))) != 0 {
		return nil
	}
	n := block[1]
	if n > uint32(len(buf)) {
		n = uint32(len(buf))
	}
	line := string(buf[:n])
	if i := strings.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	return strings.Fields(line)
}
