package usdhc

import (
	"encoding/binary"
	"runtime"
	"sync"
	"time"
)

// BlockSize is the size of a block: the only one this driver uses (the
// block length of high-capacity cards, set with CMD16 on the others).
const BlockSize = 512

// MaxBlocksPerCommand bounds the blocks of one read or write command
// (BLK_ATT BLKCNT is 16 bits); longer transfers take several commands.
const MaxBlocksPerCommand = 0xffff

// Timeouts bound every wait of the driver. A zero field takes the
// default in DefaultTimeouts.
type Timeouts struct {
	// Reset bounds a controller reset, the 80 initialisation clocks and
	// a clock change (SYS_CTRL RSTA, INITA; PRES_STATE SDSTB).
	Reset time.Duration
	// Command bounds a command's completion (INT_STATUS CC) and the wait
	// for the command and data lines to be free.
	Command time.Duration
	// PowerUp bounds the ACMD41 loop: SD Physical Layer 4.2.3 gives the
	// card 1 s to leave its power-up.
	PowerUp time.Duration
	// Read bounds each block of a read: 100 ms in SD Physical Layer
	// 4.6.2.1.
	Read time.Duration
	// Write bounds each block of a write, and its programming (busy):
	// 250 ms in SD Physical Layer 4.6.2.2.
	Write time.Duration
}

// DefaultTimeouts are the SD specification's limits with room to spare.
var DefaultTimeouts = Timeouts{
	Reset:   100 * time.Millisecond,
	Command: 100 * time.Millisecond,
	PowerUp: 2 * time.Second,
	Read:    200 * time.Millisecond,
	Write:   500 * time.Millisecond,
}

// Config is how Init brings up the card.
type Config struct {
	// Width is the data bus width: 1 or 4 (0 means 4).
	Width int
	// Timeouts bound the waits; zero fields take DefaultTimeouts.
	Timeouts Timeouts
}

// Info is what Init learnt about the card.
type Info struct {
	HighCapacity bool      // SDHC/SDXC: block addressing
	Version2     bool      // answered CMD8 (Physical Layer 2.00 or later)
	RCA          uint16    // relative card address
	Blocks       uint64    // capacity in 512-byte blocks (CSD)
	CID, CSD     [4]uint32 // raw registers (CMD_RSP0..3)
	Width        int       // data bus width in use
}

// Card is an initialised SD card behind one uSDHC controller.
type Card struct {
	mu   sync.Mutex // a leaf: held across one command or transfer
	regs Regs       // protected by mu
	t    Timeouts
	info Info
	sys  uint32 // protected by mu: SYS_CTRL clock and timeout bits
	ok   bool   // protected by mu: Init completed
}

// spinPolls is how many polls a wait makes before it looks at the clock
// and starts yielding the processor.
const spinPolls = 64

// Init resets the controller behind regs and brings up the card in it
// (SD Physical Layer Simplified Specification 4.2, figure 4-2; IMX6ULRM
// 58.6.2, "Initialization"). The controller's clock must be running
// (board glue: CCM_CCGR6).
func Init(regs Regs, cfg Config) (*Card, error) {
	c := &Card{regs: regs, t: cfg.Timeouts}
	d := DefaultTimeouts
	for _, f := range []struct{ p, d *time.Duration }{
		{&c.t.Reset, &d.Reset}, {&c.t.Command, &d.Command}, {&c.t.PowerUp, &d.PowerUp},
		{&c.t.Read, &d.Read}, {&c.t.Write, &d.Write},
	} {
		if *f.p <= 0 {
			*f.p = *f.d
		}
	}
	width := cfg.Width
	if width == 0 {
		width = 4
	}
	if width != 1 && width != 4 {
		return nil, &Error{Op: "init", Err: ErrUnusable, Detail: "bus width must be 1 or 4"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.initLocked(width); err != nil {
		return nil, err
	}
	c.ok = true
	return c, nil
}

// Info returns what Init learnt about the card.
func (c *Card) Info() Info { return c.info }

// Blocks is the card's capacity in blocks of BlockSize bytes.
func (c *Card) Blocks() uint64 { return c.info.Blocks }

// BlockSize is BlockSize (for interfaces that ask).
func (c *Card) BlockSize() int { return BlockSize }

// initLocked is Init. Preconditions: c.mu is held.
func (c *Card) initLocked(width int) error {
	r := c.regs
	// Software reset of the whole controller (SYS_CTRL RSTA, IMX6ULRM
	// 58.8.11): self-clearing.
	r.Write(regSysCtrl, sysLow4|sysRSTA)
	if !c.waitClear(regSysCtrl, sysRSTA, c.t.Reset) {
		return &Error{Op: "init", Err: ErrTimeout, Detail: "SYS_CTRL RSTA did not clear"}
	}
	// The reset leaves MIX_CTRL's transfer mode as it was: clear it.
	r.Write(regMixCtrl, r.Read(regMixCtrl)&^mixMode)
	// 1-bit bus, little endian, no DMA (PROT_CTRL).
	r.Write(regProtCtrl, r.Read(regProtCtrl)&^(protDTWMask|protEModeMsk|protDMAMask)|protDTW1|protEModeLE)
	r.Write(regWtmkLvl, wtmkLvl)
	// Status bits to poll; no interrupts.
	r.Write(regIntStatEn, intEnabled)
	r.Write(regIntSigEn, 0)
	r.Write(regIntStatus, ^uint32(0))
	// Identification clock, then the 80 initialisation clocks (INITA).
	if err := c.setClock(idDVS, idSDCLKFS); err != nil {
		return err
	}
	r.Write(regSysCtrl, c.sys|sysINITA)
	if !c.waitClear(regSysCtrl, sysINITA, c.t.Reset) {
		return &Error{Op: "init", Err: ErrTimeout, Detail: "SYS_CTRL INITA did not clear"}
	}

	// CMD0 GO_IDLE_STATE.
	if _, err := c.command("init", 0, 0, respNone); err != nil {
		return err
	}
	// CMD8 SEND_IF_COND: 2.7-3.6 V (VHS 0001), check pattern 0xaa. No
	// answer: a version 1 card, or none.
	const ifCond = 0x1aa
	rsp, err := c.command("init", 8, ifCond, respR7)
	switch {
	case err == nil:
		if rsp&0xfff != ifCond {
			return &Error{Op: "init", Cmd: 8, Arg: ifCond, Err: ErrUnusable,
				Detail: "interface condition not echoed"}
		}
		c.info.Version2 = true
	case isTimeout(err):
		c.resetLines()
	default:
		return err
	}
	// ACMD41 SD_SEND_OP_COND until the card is ready (OCR bit 31),
	// asking for high capacity (HCS, bit 30) from a version 2 card; the
	// voltage window is 2.7-3.6 V (OCR bits 15-23).
	arg := uint32(0x00ff8000)
	if c.info.Version2 {
		arg |= 1 << 30
	}
	start := time.Now()
	var ocr uint32
	for tries := 0; ; tries++ {
		if _, err := c.command("init", 55, 0, respR1); err != nil {
			if tries == 0 && isTimeout(err) {
				c.resetLines()
				return &Error{Op: "init", Cmd: 55, Err: ErrNoCard, Detail: "no answer to APP_CMD"}
			}
			return err
		}
		ocr, err = c.command("init", 41, arg, respR3)
		if err != nil {
			return err
		}
		if ocr&(1<<31) != 0 {
			break
		}
		if time.Since(start) > c.t.PowerUp {
			return &Error{Op: "init", Cmd: 41, Arg: arg, Err: ErrTimeout, Detail: "card stayed in power-up"}
		}
		runtime.Gosched()
	}
	c.info.HighCapacity = c.info.Version2 && ocr&(1<<30) != 0
	// CMD2 ALL_SEND_CID, CMD3 SEND_RELATIVE_ADDR.
	if _, err := c.command("init", 2, 0, respR2); err != nil {
		return err
	}
	c.info.CID = c.response136()
	rsp, err = c.command("init", 3, 0, respR6)
	if err != nil {
		return err
	}
	// R6: RCA [31:16], then status bits 23, 22, 19, 12:0 (SD Physical
	// Layer 4.9.5).
	if st := rsp&0x1fff | (rsp&0xc000)<<8 | (rsp&0x2000)<<6; st&csErrors != 0 {
		return &Error{Op: "init", Cmd: 3, Status: st, Err: statusError(st)}
	}
	c.info.RCA = uint16(rsp >> 16)
	rca := uint32(c.info.RCA) << 16
	// CMD9 SEND_CSD: the capacity.
	if _, err := c.command("init", 9, rca, respR2); err != nil {
		return err
	}
	c.info.CSD = c.response136()
	blocks, ok := csdBlocks(c.info.CSD)
	if !ok {
		return &Error{Op: "init", Cmd: 9, Err: ErrUnusable, Detail: "unknown CSD version or zero capacity"}
	}
	c.info.Blocks = blocks
	// Transfer clock, then CMD7 SELECT_CARD (R1b).
	if err := c.setClock(opDVS, opSDCLKFS); err != nil {
		return err
	}
	if _, err := c.commandR1("init", 7, rca, respR1b); err != nil {
		return err
	}
	if !c.info.HighCapacity {
		// CMD16 SET_BLOCKLEN: 512 bytes.
		if _, err := c.commandR1("init", 16, BlockSize, respR1); err != nil {
			return err
		}
	}
	c.info.Width = 1
	if width == 4 {
		// ACMD6 SET_BUS_WIDTH: 4 bits (argument 2), then PROT_CTRL DTW.
		if _, err := c.commandR1("init", 55, rca, respR1); err != nil {
			return err
		}
		if _, err := c.commandR1("init", 6, 2, respR1); err != nil {
			return err
		}
		r.Write(regProtCtrl, r.Read(regProtCtrl)&^protDTWMask|protDTW4)
		c.info.Width = 4
	}
	return nil
}

// csdBlocks computes the capacity in 512-byte blocks from the CSD as the
// controller returns it (CMD_RSP0..3 hold CSD bits [127:8] in bits
// [119:0]: the CRC byte is stripped). SD Physical Layer 5.3.2 (CSD
// version 1.0) and 5.3.3 (version 2.0).
func csdBlocks(csd [4]uint32) (uint64, bool) {
	bits := func(hi, lo int) uint64 { // CSD bits [hi:lo]
		var v uint64
		for b := hi; b >= lo; b-- {
			r := b - 8
			v = v<<1 | uint64(csd[r/32]>>(r%32)&1)
		}
		return v
	}
	var blocks uint64
	switch bits(127, 126) {
	case 0:
		readBlLen := bits(83, 80)
		cSize := bits(73, 62)
		mult := bits(49, 47)
		if readBlLen < 9 || readBlLen > 11 {
			return 0, false
		}
		bytes := (cSize + 1) << (mult + 2) << readBlLen
		blocks = bytes / BlockSize
	case 1:
		blocks = (bits(69, 48) + 1) * 1024
	default:
		return 0, false
	}
	return blocks, blocks > 0
}

// response136 reads a 136-bit response (R2).
func (c *Card) response136() [4]uint32 {
	var v [4]uint32
	for i := range v {
		v[i] = c.regs.Read(regCmdRsp0 + uint32(4*i))
	}
	return v
}

// setClock sets the SD clock dividers (IMX6ULRM 58.7.7, "Change Clock
// Frequency": wait for a stable clock, change the dividers, wait again).
// VEND_SPEC FRC_SDCLK_ON is left clear (its reset value), so the
// controller gates the clock itself.
func (c *Card) setClock(dvs, sdclkfs uint32) error {
	c.regs.Write(regSysCtrl, c.sys|sysLow4)
	if !c.waitSet(regPresState, presSDSTB, c.t.Reset) {
		return &Error{Op: "init", Err: ErrTimeout, Detail: "SD clock not stable (PRES_STATE SDSTB)"}
	}
	c.sys = dtocv<<sysDTOCV | sdclkfs<<sysSDCLKF | dvs<<sysDVS | sysLow4
	c.regs.Write(regSysCtrl, c.sys)
	if !c.waitSet(regPresState, presSDSTB, c.t.Reset) {
		return &Error{Op: "init", Err: ErrTimeout, Detail: "SD clock not stable after the change (PRES_STATE SDSTB)"}
	}
	return nil
}

func isTimeout(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Err == ErrTimeout
}

// waitSet polls reg until a bit of mask is set, at most limit after the
// first spinPolls polls; it reports whether one was.
func (c *Card) waitSet(reg, mask uint32, limit time.Duration) bool {
	return c.waitFor(reg, mask, true, limit)
}

// waitClear polls reg until every bit of mask is clear, as waitSet.
func (c *Card) waitClear(reg, mask uint32, limit time.Duration) bool {
	return c.waitFor(reg, mask, false, limit)
}

// waitFor polls reg until some bit of mask is set (set) or every bit is
// clear (!set): spinPolls polls, then for at most limit, yielding between
// polls. It reports whether the state was reached.
func (c *Card) waitFor(reg, mask uint32, set bool, limit time.Duration) bool {
	var start time.Time
	for i := 0; ; i++ {
		if (c.regs.Read(reg)&mask != 0) == set {
			return true
		}
		if i < spinPolls {
			continue
		}
		if i == spinPolls {
			start = time.Now()
		} else if time.Since(start) > limit {
			return (c.regs.Read(reg)&mask != 0) == set
		}
		runtime.Gosched()
	}
}

// resetLines resets the command and data lines after an error (SYS_CTRL
// RSTC, RSTD; IMX6ULRM 58.8.11), one at a time, and clears INT_STATUS.
func (c *Card) resetLines() {
	c.regs.Write(regSysCtrl, c.sys|sysRSTC)
	c.waitClear(regSysCtrl, sysRSTC, c.t.Reset)
	c.regs.Write(regSysCtrl, c.sys|sysRSTD)
	c.waitClear(regSysCtrl, sysRSTD, c.t.Reset)
	c.regs.Write(regIntStatus, ^uint32(0))
}

// command sends command idx with arg and waits for its completion
// (IMX6ULRM 58.5.3.1, "Command send and response receive"). flags are the
// CMD_XFR_TYP response, check and data bits. It returns CMD_RSP0. On an
// error it resets the lines. CMD_XFR_TYP is written whole (see the
// package documentation on QEMU).
func (c *Card) command(op string, idx int, arg, flags uint32) (uint32, error) {
	inhibit := uint32(presCIHB)
	if flags&xfrDPSel != 0 || flags>>xfrRspType&3 == rsp48Busy {
		inhibit |= presCDIHB
	}
	if !c.waitClear(regPresState, inhibit, c.t.Command) {
		c.resetLines()
		return 0, &Error{Op: op, Cmd: idx, Arg: arg, Err: ErrTimeout, Detail: "command or data line busy (PRES_STATE CIHB/CDIHB)"}
	}
	c.regs.Write(regIntStatus, ^uint32(0))
	c.regs.Write(regCmdArg, arg)
	c.regs.Write(regCmdXfrTyp, uint32(idx)<<xfrCmdIndex|flags)
	if !c.waitSet(regIntStatus, intCC|intCmdErrors, c.t.Command) {
		st := c.regs.Read(regIntStatus)
		c.resetLines()
		return 0, &Error{Op: op, Cmd: idx, Arg: arg, Int: st, Err: ErrTimeout, Detail: "no command completion (INT_STATUS CC)"}
	}
	st := c.regs.Read(regIntStatus)
	if st&intCmdErrors != 0 {
		c.resetLines()
		return 0, &Error{Op: op, Cmd: idx, Arg: arg, Int: st, Err: intError(st)}
	}
	c.regs.Write(regIntStatus, intCC)
	return c.regs.Read(regCmdRsp0), nil
}

// commandR1 is command for a command answered with R1 or R1b: an error
// bit in the card status is an error.
func (c *Card) commandR1(op string, idx int, arg, flags uint32) (uint32, error) {
	cs, err := c.command(op, idx, arg, flags)
	if err == nil && cs&csErrors != 0 {
		return cs, &Error{Op: op, Cmd: idx, Arg: arg, Status: cs, Err: statusError(cs)}
	}
	return cs, err
}

// waitReady polls the card status (CMD13 SEND_STATUS) until the card is
// in the transfer state and ready for data, at most limit: after a write
// the card programs (state prg) and holds DAT0 low until it is done.
func (c *Card) waitReady(op string, limit time.Duration) error {
	start := time.Now()
	for {
		cs, err := c.commandR1(op, 13, uint32(c.info.RCA)<<16, respR1)
		if err != nil {
			return err
		}
		if cs>>csStateShift&0xf == stateTran && cs&csReadyForData != 0 {
			return nil
		}
		if time.Since(start) > limit {
			return &Error{Op: op, Cmd: 13, Status: cs, Err: ErrTimeout, Detail: "card stays busy"}
		}
		runtime.Gosched()
	}
}

// ReadBlocks reads len(p)/BlockSize blocks from block lba into p.
func (c *Card) ReadBlocks(lba uint64, p []byte) error { return c.blocks(false, lba, p) }

// WriteBlocks writes p, whole blocks, to the card from block lba. It
// returns when the card has programmed them.
func (c *Card) WriteBlocks(lba uint64, p []byte) error { return c.blocks(true, lba, p) }

func (c *Card) blocks(write bool, lba uint64, p []byte) error {
	op := "read"
	if write {
		op = "write"
	}
	n := uint64(len(p) / BlockSize)
	if len(p)%BlockSize != 0 || lba > c.info.Blocks || n > c.info.Blocks-lba {
		return &Error{Op: op, Arg: uint32(lba), Err: ErrRange}
	}
	// No defer: nothing here may panic with the lock held but a bug.
	c.mu.Lock()
	if !c.ok {
		c.mu.Unlock()
		return &Error{Op: op, Err: ErrClosed}
	}
	var err error
	for n > 0 && err == nil {
		k := min(n, MaxBlocksPerCommand)
		err = c.transferLocked(op, write, lba, p[:k*BlockSize])
		lba += k
		n -= k
		p = p[k*BlockSize:]
	}
	c.mu.Unlock()
	return err
}

// transferLocked moves blocks by programmed I/O: IMX6ULRM 58.5.3.2 and
// 58.5.3.3 ("Data transfer", read and write without DMA) with auto CMD12
// for more than one block. Preconditions: c.mu is held; p is whole
// blocks, at most MaxBlocksPerCommand, inside the card.
func (c *Card) transferLocked(op string, write bool, lba uint64, p []byte) error {
	r := c.regs
	n := uint32(len(p) / BlockSize)
	arg := uint32(lba)
	if !c.info.HighCapacity {
		arg = uint32(lba * BlockSize) // byte address (SD Physical Layer 4.3.14)
	}
	mode := uint32(mixBCEN)
	idx := 17 // READ_SINGLE_BLOCK
	if write {
		idx = 24 // WRITE_BLOCK
	} else {
		mode |= mixDTDSEL
	}
	if n > 1 {
		mode |= mixMSBSEL | mixAC12EN
		idx++ // READ_MULTIPLE_BLOCK, WRITE_MULTIPLE_BLOCK
	}
	r.Write(regBlkAtt, n<<16|BlockSize)
	r.Write(regMixCtrl, r.Read(regMixCtrl)&^mixMode|mode)
	cs, err := c.commandR1(op, idx, arg, respR1|xfrDPSel)
	if err != nil {
		if cs != 0 {
			c.resetLines()
		}
		return err
	}
	limit := c.t.Read
	ready := uint32(presBREN)
	if write {
		limit, ready = c.t.Write, presBWEN
	}
	const chunk = watermarkWords * 4
	port, _ := r.(WordPort)
	if len(p) > 0 && !aligned(p) {
		port = nil
	}
	for off := 0; off < len(p); off += chunk {
		if st := c.waitData(ready, limit); st != 0 {
			c.resetLines()
			return &Error{Op: op, Cmd: idx, Arg: arg, Int: st &^ 1, Err: dataError(st),
				Detail: dataDetail(st, write)}
		}
		b := p[off : off+chunk]
		switch {
		case port != nil && write:
			port.WriteWords(regDataPort, b)
		case port != nil:
			port.ReadWords(regDataPort, b)
		case write:
			for i := 0; i < chunk; i += 4 {
				r.Write(regDataPort, binary.LittleEndian.Uint32(b[i:]))
			}
		default:
			for i := 0; i < chunk; i += 4 {
				binary.LittleEndian.PutUint32(b[i:], r.Read(regDataPort))
			}
		}
	}
	// Transfer complete (and the auto CMD12 sent).
	if !c.waitSet(regIntStatus, intTC|intDataErrors, limit) {
		st := r.Read(regIntStatus)
		c.resetLines()
		return &Error{Op: op, Cmd: idx, Arg: arg, Int: st, Err: ErrTimeout, Detail: "no transfer completion (INT_STATUS TC)"}
	}
	if st := r.Read(regIntStatus); st&intDataErrors != 0 {
		c.resetLines()
		return &Error{Op: op, Cmd: idx, Arg: arg, Int: st, Err: intError(st)}
	}
	if n > 1 {
		// The auto CMD12's R1b is in CMD_RSP3 (IMX6ULRM 58.8.5). A
		// multiple block read that ends at the card's last block may
		// report OUT_OF_RANGE there; the range was checked before.
		if cs := r.Read(regCmdRsp0 + 12); cs&csErrors&^(csOutOfRange|csAddressError) != 0 {
			return &Error{Op: op, Cmd: 12, Status: cs, Err: statusError(cs)}
		}
	}
	r.Write(regIntStatus, intTC|intBRR|intBWR)
	if write {
		return c.waitReady(op, c.t.Write*time.Duration(n))
	}
	return nil
}

// waitData polls until PRES_STATE has ready (the buffer holds a
// watermark of data, or room for one) and returns 0, or returns the
// INT_STATUS error bits that ended the transfer, or 1 on a timeout.
func (c *Card) waitData(ready uint32, limit time.Duration) uint32 {
	var start time.Time
	for i := 0; ; i++ {
		if c.regs.Read(regPresState)&ready != 0 {
			return 0
		}
		if st := c.regs.Read(regIntStatus); st&intDataErrors != 0 {
			return st & intDataErrors
		}
		if i < spinPolls {
			continue
		}
		if i == spinPolls {
			start = time.Now()
		} else if time.Since(start) > limit {
			if c.regs.Read(regPresState)&ready != 0 {
				return 0
			}
			return 1
		}
		runtime.Gosched()
	}
}

func dataError(st uint32) error {
	if st == 1 {
		return ErrTimeout
	}
	return intError(st)
}

func dataDetail(st uint32, write bool) string {
	if st != 1 {
		return ""
	}
	if write {
		return "no room in the buffer (PRES_STATE BWEN)"
	}
	return "no data in the buffer (PRES_STATE BREN)"
}
