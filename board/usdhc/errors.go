package usdhc

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error of this package wraps one of them.
var (
	// ErrNoCard: no card answered the identification commands.
	ErrNoCard = errors.New("usdhc: no card")
	// ErrTimeout: the controller or the card did not finish in time
	// (a command or data timeout, a stuck line, a card that stays busy).
	ErrTimeout = errors.New("usdhc: timeout")
	// ErrCRC: a command or data CRC, end bit or index error.
	ErrCRC = errors.New("usdhc: CRC or framing error")
	// ErrCardStatus: the card reported an error in its status.
	ErrCardStatus = errors.New("usdhc: card reported an error")
	// ErrRange: blocks beyond the card, or a buffer that is not whole
	// blocks.
	ErrRange = errors.New("usdhc: blocks beyond the card or buffer not whole blocks")
	// ErrUnusable: a card this driver cannot use (bad interface
	// condition echo, unknown CSD version, zero capacity).
	ErrUnusable = errors.New("usdhc: unusable card")
	// ErrClosed: the Card was not initialised.
	ErrClosed = errors.New("usdhc: card not initialised")
)

// Error is a failed command or transfer.
type Error struct {
	Op     string // "init", "read", "write", "status"
	Cmd    int    // the command index (ACMDs are given as their index)
	Arg    uint32 // its argument
	Int    uint32 // INT_STATUS when it failed
	Status uint32 // the card status (R1) if one was part of the failure
	Detail string // what was being waited for, when it timed out
	Err    error  // one of the sentinel errors
}

func (e *Error) Error() string {
	s := fmt.Sprintf("usdhc: %s: CMD%d arg %#x: %v", e.Op, e.Cmd, e.Arg, e.Err)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if n := IntStatusString(e.Int); n != "" {
		s += fmt.Sprintf("; INT_STATUS %#08x: %s", e.Int, n)
	}
	if n := CardStatusString(e.Status); n != "" {
		s += fmt.Sprintf("; card status %#08x: %s", e.Status, n)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// intError classifies INT_STATUS error bits.
func intError(st uint32) error {
	switch {
	case st&(intCTOE|intDTOE) != 0:
		return ErrTimeout
	case st&(intCCE|intCEBE|intCIE|intDCE|intDEBE) != 0:
		return ErrCRC
	case st&intAC12E != 0:
		return ErrCardStatus
	}
	return ErrCRC
}

// statusError classifies card status error bits.
func statusError(cs uint32) error {
	if cs&(csOutOfRange|csAddressError) != 0 {
		return ErrRange
	}
	if cs&csComCRCError != 0 {
		return ErrCRC
	}
	return ErrCardStatus
}
