package usdhc

import "strings"

// Regs is a uSDHC register file: 32-bit reads and writes at byte offsets
// from the controller's base.
type Regs interface {
	Read(off uint32) uint32
	Write(off uint32, v uint32)
}

// WordPort is implemented by a register file that moves a run of words
// through one register faster than Read and Write one at a time (MMIO:
// a load or store loop in assembly). The words are little endian in p,
// whose length is a multiple of 4 and whose first byte is word aligned.
type WordPort interface {
	ReadWords(off uint32, p []byte)
	WriteWords(off uint32, p []byte)
}

// Register offsets (IMX6ULRM 58.8, "uSDHC Memory Map/Register Definition").
const (
	regBlkAtt     = 0x04 // BLK_ATT: block count [31:16], block size [12:0]
	regCmdArg     = 0x08 // CMD_ARG
	regCmdXfrTyp  = 0x0c // CMD_XFR_TYP
	regCmdRsp0    = 0x10 // CMD_RSP0..3 at 0x10, 0x14, 0x18, 0x1c
	regDataPort   = 0x20 // DATA_BUFF_ACC_PORT
	regPresState  = 0x24 // PRES_STATE
	regProtCtrl   = 0x28 // PROT_CTRL
	regSysCtrl    = 0x2c // SYS_CTRL
	regIntStatus  = 0x30 // INT_STATUS (write 1 to clear)
	regIntStatEn  = 0x34 // INT_STATUS_EN
	regIntSigEn   = 0x38 // INT_SIGNAL_EN
	regAC12Err    = 0x3c // AUTOCMD12_ERR_STATUS
	regWtmkLvl    = 0x44 // WTMK_LVL
	regMixCtrl    = 0x48 // MIX_CTRL
	regVendorSpec = 0xc0 // VEND_SPEC
)

// CMD_XFR_TYP fields (IMX6ULRM 58.8.4).
const (
	xfrCmdIndex = 24 // CMDINX [29:24]
	xfrCmdType  = 22 // CMDTYP [23:22]: 0 normal, 3 abort
	xfrDPSel    = 1 << 21
	xfrCICEN    = 1 << 20 // command index check
	xfrCCCEN    = 1 << 19 // command CRC check
	xfrRspType  = 16      // RSPTYP [17:16]
)

// Response types (RSPTYP) and the checks each response kind takes
// (IMX6ULRM 58.8.4, table "Relation between parameters and the name of
// the response type").
const (
	rspNone    = 0
	rsp136     = 1
	rsp48      = 2
	rsp48Busy  = 3
	respNone   = rspNone << xfrRspType
	respR1     = rsp48<<xfrRspType | xfrCCCEN | xfrCICEN
	respR1b    = rsp48Busy<<xfrRspType | xfrCCCEN | xfrCICEN
	respR2     = rsp136<<xfrRspType | xfrCCCEN
	respR3     = rsp48 << xfrRspType
	respR6     = respR1
	respR7     = respR1
	cmdTypeAbt = 3 << xfrCmdType
)

// PRES_STATE bits (IMX6ULRM 58.8.9).
const (
	presCIHB  = 1 << 0  // command inhibit (CMD)
	presCDIHB = 1 << 1  // command inhibit (DATA)
	presSDSTB = 1 << 3  // SD clock stable
	presBWEN  = 1 << 10 // buffer write enable
	presBREN  = 1 << 11 // buffer read enable
	presCINST = 1 << 16 // card inserted
)

// PROT_CTRL fields (IMX6ULRM 58.8.10).
const (
	protDTW1     = 0 << 1 // data transfer width: 1 bit
	protDTW4     = 1 << 1 // 4 bits
	protDTWMask  = 3 << 1
	protEModeLE  = 2 << 4 // little endian
	protEModeMsk = 3 << 4
	protDMAMask  = 3 << 8 // DMASEL: 0, no DMA
)

// SYS_CTRL fields (IMX6ULRM 58.8.11). The low four bits are reserved and
// read 1 at reset; the driver always writes them set (see the package
// documentation on QEMU).
const (
	sysLow4   = 0xf
	sysDVS    = 4  // DVS [7:4]: divide by DVS+1
	sysSDCLKF = 8  // SDCLKFS [15:8]: divide by 2*SDCLKFS (0: by 1)
	sysDTOCV  = 16 // DTOCV [19:16]: data timeout SDCLK x 2^(13+DTOCV)
	sysRSTA   = 1 << 24
	sysRSTC   = 1 << 25
	sysRSTD   = 1 << 26
	sysINITA  = 1 << 27
)

// Clock dividers. USDHCn_CLK_ROOT is 198 MHz after reset (PLL2 PFD2, 396
// MHz, divided by 2: IMX6ULRM 18.5.1.5 clock root table, CSCDR1 and
// CSCMR1 reset values). Identification: 198 MHz / 64 / 8 = 387 kHz (at
// most 400 kHz, SD Physical Layer 4.2.1); transfer: 198 MHz / 4 / 2 =
// 24.75 MHz (default speed, at most 25 MHz).
const (
	idSDCLKFS = 0x20 // divide by 64
	idDVS     = 7    // divide by 8
	opSDCLKFS = 0x02 // divide by 4
	opDVS     = 1    // divide by 2
	dtocv     = 0xe  // SDCLK x 2^27
)

// INT_STATUS bits (IMX6ULRM 58.8.12).
const (
	intCC    = 1 << 0  // command complete
	intTC    = 1 << 1  // transfer complete
	intBWR   = 1 << 4  // buffer write ready
	intBRR   = 1 << 5  // buffer read ready
	intCTOE  = 1 << 16 // command timeout
	intCCE   = 1 << 17 // command CRC error
	intCEBE  = 1 << 18 // command end bit error
	intCIE   = 1 << 19 // command index error
	intDTOE  = 1 << 20 // data timeout
	intDCE   = 1 << 21 // data CRC error
	intDEBE  = 1 << 22 // data end bit error
	intAC12E = 1 << 24 // auto CMD12 error
	intTNE   = 1 << 26 // tuning error
	intDMAE  = 1 << 28 // DMA error

	intCmdErrors  = intCTOE | intCCE | intCEBE | intCIE
	intDataErrors = intDTOE | intDCE | intDEBE | intAC12E | intDMAE
	intErrors     = intCmdErrors | intDataErrors | intTNE
	// The status bits the driver polls, enabled in INT_STATUS_EN (no
	// interrupt is signalled: INT_SIGNAL_EN stays 0).
	intEnabled = intCC | intTC | intBWR | intBRR | intErrors
)

// MIX_CTRL bits (IMX6ULRM 58.8.16): the transfer mode.
const (
	mixDMAEN  = 1 << 0
	mixBCEN   = 1 << 1 // block count enable
	mixAC12EN = 1 << 2 // auto CMD12
	mixDTDSEL = 1 << 4 // data direction: card to host
	mixMSBSEL = 1 << 5 // multiple blocks
	mixMode   = 0xff   // the transfer-mode bits the driver owns
)

// WTMK_LVL: read and write watermarks of watermarkWords words, bursts of
// 8 (IMX6ULRM 58.8.15; the reset value).
const (
	watermarkWords = 16
	wtmkLvl        = 8<<24 | watermarkWords<<16 | 8<<8 | watermarkWords
)

var intNames = []struct {
	bit  uint32
	name string
}{
	{intCTOE, "CTOE command timeout"},
	{intCCE, "CCE command CRC error"},
	{intCEBE, "CEBE command end bit error"},
	{intCIE, "CIE command index error"},
	{intDTOE, "DTOE data timeout"},
	{intDCE, "DCE data CRC error"},
	{intDEBE, "DEBE data end bit error"},
	{intAC12E, "AC12E auto CMD12 error"},
	{intTNE, "TNE tuning error"},
	{intDMAE, "DMAE DMA error"},
}

// IntStatusString names the error bits set in an INT_STATUS value.
func IntStatusString(v uint32) string {
	var names []string
	for _, n := range intNames {
		if v&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

// Card status bits of an R1 response (SD Physical Layer Simplified
// Specification 4.10.1, table "Card Status").
const (
	csOutOfRange    = 1 << 31
	csAddressError  = 1 << 30
	csBlockLenError = 1 << 29
	csEraseSeqError = 1 << 28
	csEraseParam    = 1 << 27
	csWPViolation   = 1 << 26
	csLockFailed    = 1 << 24
	csComCRCError   = 1 << 23
	csIllegalCmd    = 1 << 22
	csCardECCFailed = 1 << 21
	csCCError       = 1 << 20
	csError         = 1 << 19
	csReadyForData  = 1 << 8
	csStateShift    = 9 // CURRENT_STATE [12:9]
	csAKESeqError   = 1 << 3

	csErrors = csOutOfRange | csAddressError | csBlockLenError | csEraseSeqError |
		csEraseParam | csWPViolation | csLockFailed | csComCRCError | csIllegalCmd |
		csCardECCFailed | csCCError | csError | csAKESeqError
)

// Card states (CURRENT_STATE).
const (
	stateTran = 4
	stateData = 5
	stateRcv  = 6
	statePrg  = 7
)

var csNames = []struct {
	bit  uint32
	name string
}{
	{csOutOfRange, "OUT_OF_RANGE"},
	{csAddressError, "ADDRESS_ERROR"},
	{csBlockLenError, "BLOCK_LEN_ERROR"},
	{csEraseSeqError, "ERASE_SEQ_ERROR"},
	{csEraseParam, "ERASE_PARAM"},
	{csWPViolation, "WP_VIOLATION"},
	{csLockFailed, "LOCK_UNLOCK_FAILED"},
	{csComCRCError, "COM_CRC_ERROR"},
	{csIllegalCmd, "ILLEGAL_COMMAND"},
	{csCardECCFailed, "CARD_ECC_FAILED"},
	{csCCError, "CC_ERROR"},
	{csError, "ERROR"},
	{csAKESeqError, "AKE_SEQ_ERROR"},
}

// CardStatusString names the error bits set in a card status (R1) value.
func CardStatusString(v uint32) string {
	var names []string
	for _, n := range csNames {
		if v&n.bit != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}
