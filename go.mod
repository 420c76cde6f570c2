module github.com/tamach/tamach

go 1.26.0

tool github.com/usbarmory/tamago/cmd/tamago

require (
	github.com/usbarmory/tamago v1.26.0
	golang.org/x/arch v0.32.0
	golang.org/x/crypto v0.19.0
	gvisor.dev/gvisor v0.0.0-20240909175600-91fb8ad18db5
)

require (
	github.com/google/btree v1.1.2 // indirect
	golang.org/x/sys v0.17.0 // indirect
	golang.org/x/time v0.5.0 // indirect
)
