// Package usdhc is a small driver for the i.MX6UL's uSDHC SD host
// controller (IMX6ULRM chapter 58, "Ultra Secured Digital Host Controller
// (uSDHC)"): it brings up one SD card (SD Physical Layer Simplified
// Specification, section 4.2, card identification mode) and reads and
// writes whole 512-byte blocks, one command per call.
//
// # What it does
//
// Init resets the controller, runs the card at the identification clock
// (about 400 kHz), sends CMD0, CMD8 (interface condition), ACMD41 until
// the card leaves its power-up (high capacity asked for, and taken when
// the card answers CCS), CMD2 (CID), CMD3 (relative address), CMD9 (CSD:
// the capacity, CSD versions 1 and 2), switches to about 25 MHz, selects
// the card (CMD7), sets the block length of a standard-capacity card
// (CMD16) and the 4-bit bus (ACMD6) when asked. ReadBlocks and WriteBlocks
// transfer any number of blocks with CMD17/CMD18 and CMD24/CMD25 (with
// the controller's automatic CMD12 for multiple blocks), at most
// MaxBlocksPerCommand per command, and a write returns only when the card
// reports itself back in the transfer state with READY_FOR_DATA (CMD13),
// so a completed write is on the card.
//
// # Programmed I/O, not DMA
//
// Data moves through the controller's buffer data port
// (DATA_BUFF_ACC_PORT, IMX6ULRM 58.4.2 "Data buffer"), 16 words per
// watermark (WTMK_LVL), not by SDMA or ADMA2; on the SoC each watermark
// is one load or store loop in assembly (mmio_arm.s, WordPort). That keeps the caller's
// buffer where it is (DMA would need a bounce buffer in the 128 KiB
// on-chip RAM, or cache maintenance over DDR, and QEMU models neither
// the cache nor its absence), allocates nothing, and works on QEMU's
// model and on the SoC alike. The price is CPU time per word: under
// QEMU a 4 KiB read or write costs about 14,000 instructions
// (BenchmarkTargetSDRead4K, BenchmarkTargetSDWrite4K; make bench).
//
// # QEMU's model (QEMU 7.2, hw/sd/sdhci.c usdhc_*)
//
// Three differences from the SoC shape the register accesses:
//
//   - CMD_XFR_TYP is written whole, with zeros in its low 16 bits: the
//     model takes the transfer mode from MIX_CTRL and ORs it into those
//     bits, so a read-modify-write would carry the previous transfer's
//     mode (a write after a read would run as a read).
//   - SYS_CTRL is always written with its low four bits set (their reset
//     value on the SoC, reserved there): the model reports the clock
//     stable (PRES_STATE SDSTB) and clocks the card only when they are.
//   - The model runs each command and each block transfer at once, inside
//     the register write; the driver polls as on the SoC anyway.
//
// Cards of 2 GB or less misbehave in the model; use an image of 4 GiB or
// more, a power of two (a high-capacity card).
//
// # Errors and bounded waits
//
// Every wait is a poll bounded by a timeout (Timeouts; the defaults follow
// the SD specification's 100 ms read and 250 ms write limits with room to
// spare), so an absent or dead card gives an error, never a hang. Errors
// are *Error values naming the command, the controller's INT_STATUS error
// bits (CTOE, CCE, CEBE, CIE, DTOE, DCE, DEBE, AC12E, ...) and the card's
// status bits (OUT_OF_RANGE, ADDRESS_ERROR, ...), and wrap one of the
// sentinel errors below for errors.Is: ErrNoCard, ErrTimeout, ErrCRC,
// ErrCardStatus, ErrRange, ErrUnusable. After an error the command and
// data lines are reset (SYS_CTRL RSTC, RSTD), so the next call starts
// clean.
//
// # Memory, blocking, concurrency
//
// ReadBlocks and WriteBlocks allocate nothing but their error values.
// While the card is busy they yield the processor (runtime.Gosched)
// between polls, so they must not be called from a page-fault handler:
// a store over a Card is not fault-safe (pager/store.Device). A Card is
// safe for concurrent use; its mutex is a leaf held across one transfer.
//
// The register file is an interface (Regs), so the command, response and
// state logic is plain Go and is tested on the host against a model of
// the controller and a card; the memory-mapped registers of the SoC are
// in mmio_unsafe.go (GOOS=tamago).
package usdhc
