package usdhc

import "fmt"

// fake is a model of a uSDHC controller with an SD card in it, as QEMU
// 7.2 models them (hw/sd/sdhci.c usdhc_*, hw/sd/sd.c) where that differs
// from the SoC: the transfer mode comes from MIX_CTRL and is ORed into
// the low 16 bits of CMD_XFR_TYP, the clock is stable only while SYS_CTRL
// bit 0 is set, commands and blocks complete inside the register write.
// It records what the driver did and fails on command as told.
type fake struct {
	// Controller registers.
	blkAtt, arg, cmd, mix, sys, prot, intSt, intEn, wtmk uint32
	rsp                                                  [4]uint32

	// The card.
	present      bool
	v1           bool   // no answer to CMD8 (Physical Layer 1.x)
	hc           bool   // high capacity when asked
	csdBlocks    uint64 // capacity the CSD reports
	realBlocks   uint64 // blocks the card really has (OUT_OF_RANGE past them)
	blocks       map[uint64][]byte
	state        uint32
	app          bool
	width        int
	powerUpPolls int // ACMD41s answered busy before ready
	badEcho      bool

	// The data transfer under way.
	xfer    bool
	reading bool
	lba     uint64
	left    uint32 // blocks left
	buf     [BlockSize]byte
	pos     int

	// Failures to inject.
	failCmd     map[int]uint32 // INT_STATUS error bits for the next command of that index
	failData    uint32         // INT_STATUS error bits after failAfter data words
	failAfter   int
	stuck       bool // commands never complete
	busyForever bool // the card never leaves prg after a write
	neverReady  bool // ACMD41 always busy

	// What the driver did (commands not recorded when quiet).
	quiet      bool
	cmds       []int
	lowBits    int // CMD_XFR_TYP writes with a non-zero low half
	words      int // data port words moved
	hcAsked    bool
	blockWrite int // blocks written to the card
}

func newFake(blocks uint64) *fake {
	return &fake{present: true, hc: true, csdBlocks: blocks, realBlocks: blocks,
		blocks: map[uint64][]byte{}, failCmd: map[int]uint32{}}
}

func (f *fake) Read(off uint32) uint32 {
	switch off {
	case regBlkAtt:
		return f.blkAtt
	case regCmdArg:
		return f.arg
	case regCmdXfrTyp:
		return f.cmd<<16 | f.mix&0xffff
	case regCmdRsp0, regCmdRsp0 + 4, regCmdRsp0 + 8, regCmdRsp0 + 12:
		return f.rsp[(off-regCmdRsp0)/4]
	case regDataPort:
		return f.readWord()
	case regPresState:
		var p uint32
		if f.sys&1 != 0 {
			p |= presSDSTB
		}
		if f.present {
			p |= presCINST
		}
		if f.xfer {
			p |= presCDIHB
			if f.reading {
				p |= presBREN
			} else {
				p |= presBWEN
			}
		}
		return p
	case regProtCtrl:
		return f.prot
	case regSysCtrl:
		return f.sys
	case regIntStatus:
		return f.intSt & f.intEn
	case regIntStatEn:
		return f.intEn
	case regWtmkLvl:
		return f.wtmk
	case regMixCtrl:
		return f.mix
	}
	return 0
}

func (f *fake) Write(off, v uint32) {
	switch off {
	case regBlkAtt:
		f.blkAtt = v
	case regCmdArg:
		f.arg = v
	case regCmdXfrTyp:
		if v&0xffff != 0 {
			f.lowBits++
		}
		f.cmd = v >> 16
		if f.sys&4 != 0 && !f.stuck {
			f.command()
		}
	case regDataPort:
		f.writeWord(v)
	case regProtCtrl:
		f.prot = v
	case regSysCtrl:
		switch {
		case v&sysRSTA != 0:
			// The controller's registers but MIX_CTRL; not the card.
			f.blkAtt, f.arg, f.cmd, f.prot, f.intSt, f.intEn, f.wtmk = 0, 0, 0, 0, 0, 0, 0
			f.rsp, f.xfer = [4]uint32{}, false
		case v&sysRSTC != 0:
			f.intSt &^= intCC | intCmdErrors
		case v&sysRSTD != 0:
			f.xfer = false
			f.intSt &^= intTC | intBRR | intBWR | intDataErrors
		}
		f.sys = v &^ (sysRSTA | sysRSTC | sysRSTD | sysINITA)
	case regIntStatus:
		f.intSt &^= v
	case regIntStatEn:
		f.intEn = v
	case regWtmkLvl:
		f.wtmk = v
	case regMixCtrl:
		f.mix = v
	}
}

func (f *fake) status() uint32 {
	s := f.state << csStateShift
	if f.state == stateTran {
		s |= csReadyForData
	}
	if f.app {
		s |= 1 << 5
	}
	return s
}

func (f *fake) command() {
	idx := int(f.cmd >> 8 & 0x3f)
	if !f.quiet {
		f.cmds = append(f.cmds, idx)
	}
	app := f.app
	f.app = false
	f.intSt |= intCC
	if bits, ok := f.failCmd[idx]; ok {
		delete(f.failCmd, idx)
		f.intSt |= bits
		return
	}
	if !f.present || (idx == 8 && f.v1) {
		if f.cmd&3 != rspNone {
			f.intSt |= intCTOE
		}
		return
	}
	f.rsp = [4]uint32{}
	switch {
	case idx == 0:
		f.state = 0
	case idx == 8:
		f.rsp[0] = f.arg & 0xfff
		if f.badEcho {
			f.rsp[0] ^= 0x55
		}
	case idx == 55:
		f.app = true
		f.rsp[0] = f.status()
	case idx == 41 && app:
		f.hcAsked = f.arg&(1<<30) != 0
		f.rsp[0] = 0x00ff8000
		if f.powerUpPolls > 0 || f.neverReady {
			f.powerUpPolls--
			return
		}
		f.rsp[0] |= 1 << 31
		if f.hc && f.hcAsked {
			f.rsp[0] |= 1 << 30
		}
		f.state = 1
	case idx == 2:
		f.rsp = [4]uint32{0x11111111, 0x22222222, 0x33333333, 0x00444444}
		f.state = 2
	case idx == 3:
		f.rsp[0] = 0x1234<<16 | 3<<csStateShift
		f.state = 3
	case idx == 9:
		f.rsp = f.csd()
	case idx == 7:
		f.state = stateTran
		f.rsp[0] = 3 << csStateShift
	case idx == 16:
		f.rsp[0] = f.status()
	case idx == 6 && app:
		f.width = 1 << (f.arg & 3)
		f.rsp[0] = f.status()
	case idx == 13:
		if f.busyForever && f.state == statePrg {
			f.rsp[0] = statePrg << csStateShift
			return
		}
		if f.state == statePrg {
			f.state = stateTran
		}
		f.rsp[0] = f.status()
	case idx == 17 || idx == 18 || idx == 24 || idx == 25:
		f.rsp[0] = f.status()
		lba := uint64(f.arg)
		if !f.hc || !f.hcAsked {
			if f.arg%BlockSize != 0 {
				f.rsp[0] |= csAddressError
				return
			}
			lba /= BlockSize
		}
		n := uint32(1)
		if f.mix&mixBCEN != 0 && f.mix&mixMSBSEL != 0 {
			n = f.blkAtt >> 16
		}
		if lba+uint64(n) > f.realBlocks {
			f.rsp[0] |= csOutOfRange
			return
		}
		f.lba, f.left, f.pos, f.xfer = lba, n, 0, true
		// The direction is MIX_CTRL's, whatever the command says.
		f.reading = f.mix&mixDTDSEL != 0
		if f.reading {
			f.loadBlock()
			f.state = stateData
		} else {
			f.state = stateRcv
		}
	default:
		f.rsp[0] = f.status() | csIllegalCmd
	}
}

// csd builds the CSD for csdBlocks as CMD_RSP0..3 holds it (bit n of the
// CSD at bit n-8).
func (f *fake) csd() [4]uint32 {
	var r [4]uint32
	set := func(hi, lo int, v uint64) {
		for b := lo; b <= hi; b++ {
			if v>>(b-lo)&1 != 0 {
				i := b - 8
				r[i/32] |= 1 << (i % 32)
			}
		}
	}
	if f.hc {
		set(127, 126, 1)
		set(69, 48, f.csdBlocks/1024-1)
	} else {
		// READ_BL_LEN 9, C_SIZE_MULT 7: (C_SIZE+1)*512 blocks.
		set(83, 80, 9)
		set(49, 47, 7)
		set(73, 62, f.csdBlocks/512-1)
	}
	return r
}

func (f *fake) loadBlock() {
	if b, ok := f.blocks[f.lba]; ok {
		copy(f.buf[:], b)
	} else {
		f.buf = [BlockSize]byte{}
	}
	f.pos = 0
}

func (f *fake) dataFault() bool {
	if f.failData != 0 && f.words >= f.failAfter {
		f.intSt |= f.failData
		f.failData = 0
		f.xfer = false
		return true
	}
	return false
}

func (f *fake) readWord() uint32 {
	if !f.xfer || !f.reading || f.dataFault() {
		return 0
	}
	f.words++
	v := uint32(f.buf[f.pos]) | uint32(f.buf[f.pos+1])<<8 | uint32(f.buf[f.pos+2])<<16 | uint32(f.buf[f.pos+3])<<24
	f.pos += 4
	if f.pos == BlockSize {
		f.lba++
		f.left--
		if f.left == 0 {
			f.endTransfer()
		} else {
			f.loadBlock()
		}
	}
	return v
}

func (f *fake) writeWord(v uint32) {
	if !f.xfer || f.reading || f.dataFault() {
		return
	}
	f.words++
	f.buf[f.pos], f.buf[f.pos+1], f.buf[f.pos+2], f.buf[f.pos+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	f.pos += 4
	if f.pos == BlockSize {
		b, ok := f.blocks[f.lba]
		if !ok {
			b = make([]byte, BlockSize)
			f.blocks[f.lba] = b
		}
		copy(b, f.buf[:])
		f.blockWrite++
		f.lba++
		f.left--
		f.pos = 0
		if f.left == 0 {
			f.endTransfer()
		}
	}
}

func (f *fake) endTransfer() {
	f.xfer = false
	f.intSt |= intTC
	if f.reading {
		f.state = stateTran
	} else {
		f.state = statePrg
	}
	if f.mix&mixAC12EN != 0 && f.mix&mixMSBSEL != 0 {
		if !f.quiet {
			f.cmds = append(f.cmds, 12)
		}
		f.rsp[3] = stateTran << csStateShift
	}
}

func (f *fake) String() string { return fmt.Sprintf("fake card: commands %v", f.cmds) }

// wordFake is the model with a WordPort, counting the runs it moved.
type wordFake struct {
	*fake
	runs int
}

func (w *wordFake) ReadWords(off uint32, p []byte) {
	w.runs++
	for i := 0; i < len(p); i += 4 {
		v := w.Read(off)
		p[i], p[i+1], p[i+2], p[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
}

func (w *wordFake) WriteWords(off uint32, p []byte) {
	w.runs++
	for i := 0; i < len(p); i += 4 {
		w.Write(off, uint32(p[i])|uint32(p[i+1])<<8|uint32(p[i+2])<<16|uint32(p[i+3])<<24)
	}
}
