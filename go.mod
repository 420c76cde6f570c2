module github.com/tamach/tamach

go 1.26.0

tool github.com/usbarmory/tamago/cmd/tamago

require (
	github.com/usbarmory/tamago v1.26.0 // indirect
	golang.org/x/arch v0.32.0 // indirect
)
