//go:build tamago

// Package imx6 holds board glue shared by the i.MX6UL boards.
package imx6

import (
	"github.com/tamach/tamach/board"
	"github.com/usbarmory/tamago/arm"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

// MapNormal gives a region of DDR outside the runtime's RAM the attributes
// of ordinary memory (normal, write-back cacheable, never executable)
// instead of TamaGo's default device attributes (arm/mmu.go), so that
// frames can be mapped into the window with matching attributes (ARM ARM
// A3.5.7, mismatched memory attributes).
func MapNormal(r board.Region) {
	imx6ul.ARM.ConfigureMMU(r.Start, uint32(r.End()), 0, arm.MemoryRegion|arm.TTE_EXECUTE_NEVER)
}
