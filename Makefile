# tamach: build, boot and test. `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export GOTOOLCHAIN := local

# The board of `make image`: qemu (QEMU's mcimx6ul-evk) or usbarmory (USB
# armory Mk II). `make qemu` and `make test` always use qemu, `make imx`
# always usbarmory.
BOARD ?= qemu
BOARDS := qemu usbarmory

BUILD := build
TEXT_START := 0x80010000
# TamaGo's compiler, driven by the module's tamago tool (cmd/tamago).
TAMAGO = $(shell go tool -n tamago)
TARGET_ENV := GOOS=tamago GOARCH=arm GOARM=7 GOOSPKG=github.com/usbarmory/tamago
TARGET_LDFLAGS := -T $(TEXT_START) -R 0x1000
board_tags = linkramsize$(if $(filter usbarmory,$(1)),$(comma)usbarmory)
comma := ,

# Packages with on-target tests: those with a _test.go file built for tamago.
TARGET_PKGS = $(shell grep -l --include='*_test.go' -r -e '^//go:build tamago' --exclude-dir=testdata . | xargs -r -n1 dirname | sort -u)
# Timeout of one on-target test binary.
TARGET_TIMEOUT ?= 5m
FUZZTIME ?= 3s

.PHONY: help deps tamago-check tools image qemu qemu-shell imx usbboot flash \
	test test-host test-target test-boot test-imx fmt-check vet fuzz-short fuzz bench clean

help:
	@echo "tamach make targets:"
	@echo "  make qemu          build the demo for QEMU's mcimx6ul-evk and boot it"
	@echo "  make test          gofmt, vet, host tests, short fuzzing, on-target tests in QEMU"
	@echo "  make imx           bootable image for the USB armory Mk II: $(BUILD)/tamach-usbarmory.imx"
	@echo "  make usbboot       load that image over USB (imx_usb, board in SDP mode)"
	@echo "  make flash DEV=/dev/sdX   write it to a removable SD card"
	@echo "  make image BOARD=qemu|usbarmory   build the demo ELF for a board"
	@echo "  make fuzz          longer fuzzing (FUZZTIME=1m per target)"
	@echo "  make bench         on-target (QEMU, instructions) and host benchmarks, one table"
	@echo "  make deps          install QEMU, mkimage, imx_usb, qemu-nbd and nbd-server (Debian, as root)"

deps:
	scripts/deps.sh qemu-system-arm mkimage imx_usb qemu-nbd nbd-server

tamago-check:
	@scripts/check-tamago.sh

bin/qemu-run: $(wildcard qemu/*.go) go.mod
	go build -o $@ ./qemu
bin/imxtool: $(wildcard cmd/imxtool/*.go board/imx/*.go) go.mod
	go build -o $@ ./cmd/imxtool
bin/flash: $(wildcard cmd/flash/*.go board/imx/*.go) go.mod
	go build -o $@ ./cmd/flash
tools: bin/qemu-run bin/imxtool bin/flash

# The demo image for one board. Always rebuilt: go's own cache makes that
# cheap, and make cannot see the package graph.
$(BUILD)/demo-%.elf: FORCE tamago-check
	@mkdir -p $(BUILD)
	$(TARGET_ENV) $(TAMAGO) build -tags $(call board_tags,$*) -ldflags "$(TARGET_LDFLAGS)" -o $@ ./cmd/demo

# The network demo for QEMU (README.md, The network) and the host end of
# its connections.
$(BUILD)/netdemo.elf: FORCE tamago-check
	@mkdir -p $(BUILD)
	$(TARGET_ENV) $(TAMAGO) build -tags $(call board_tags,qemu) -ldflags "$(TARGET_LDFLAGS)" -o $@ ./cmd/netdemo
bin/netrelay: $(wildcard cmd/netrelay/*.go) go.mod
	go build -o $@ ./cmd/netrelay

image:
	@if [[ " $(BOARDS) " != *" $(BOARD) "* ]]; then \
		echo "unknown BOARD=$(BOARD): choose one of $(BOARDS)" >&2; exit 1; fi
	$(MAKE) --no-print-directory $(BUILD)/demo-$(BOARD).elf

qemu: $(BUILD)/demo-qemu.elf bin/qemu-run
	@scripts/deps.sh qemu-system-arm
	bin/qemu-run -timeout 5m $(BUILD)/demo-qemu.elf

qemu-shell: $(BUILD)/demo-qemu.elf bin/qemu-run
	@scripts/deps.sh qemu-system-arm
	bin/qemu-run -timeout 24h $(BUILD)/demo-qemu.elf -shell

# Packages with on-target benchmarks, and the time each benchmark runs
# (guest time: under -icount, instructions).
BENCH_TARGET_PKGS = $(shell grep -l --include='*_test.go' -r -e '^func BenchmarkTarget' --exclude-dir=testdata . | xargs -r -n1 dirname | sort -u)
BENCHTIME ?= 200ms

# make bench: the on-target benchmarks in QEMU with -icount shift=0
# (ns/op are instructions per operation; the guests reach a qemu-nbd at
# 10.0.2.100:10809 for netstack's NBD benchmarks, scripts/with-nbd.sh) and
# the host benchmarks (ratios to a 4 KiB copy measured in the same run),
# then one table of both. The raw outputs stay in $(BUILD)/bench-*.txt.
bench: tamago-check bin/qemu-run bin/netrelay
	@scripts/deps.sh qemu-system-arm
	@scripts/deps.sh qemu-nbd
	@mkdir -p $(BUILD)
	TAMACH_ICOUNT=1 scripts/with-nbd.sh bin/netrelay env $(TARGET_ENV) $(TAMAGO) test -count=1 -run '^$$' -bench '^BenchmarkTarget' -benchtime $(BENCHTIME) \
		-timeout $(TARGET_TIMEOUT) -tags linkramsize -ldflags "$(TARGET_LDFLAGS)" -exec $(CURDIR)/bin/qemu-run \
		$(BENCH_TARGET_PKGS) > $(BUILD)/bench-target.txt || { cat $(BUILD)/bench-target.txt; exit 1; }
	@scripts/deps.sh qemu-nbd
	go test -count=1 -run '^$$' -bench . -benchtime $(BENCHTIME) $$(go list ./... | grep -v /testdata/) \
		> $(BUILD)/bench-host.txt || { cat $(BUILD)/bench-host.txt; exit 1; }
	@go run ./cmd/benchtable -target $(BUILD)/bench-target.txt -host $(BUILD)/bench-host.txt

# The USB armory image: the flat binary, mkimage with the board's DCD (and
# the TZASC bypass that TamaGo needs before DDR is set up), then the IVT
# entry set to the ELF's entry point.
imx: $(BUILD)/tamach-usbarmory.imx
$(BUILD)/tamach-usbarmory.imx: $(BUILD)/demo-usbarmory.elf bin/imxtool
	@scripts/deps.sh mkimage
	bin/imxtool bin -base $(TEXT_START) $< $(BUILD)/tamach-usbarmory.bin
	cp "$$(go list -m -f '{{.Dir}}' github.com/usbarmory/tamago)/board/usbarmory/mk2/imximage.cfg" $(BUILD)/usbarmory.dcd
	chmod 644 $(BUILD)/usbarmory.dcd
	echo "DATA 4 0x020e4024 0x00000001  # TZASC_BYPASS" >> $(BUILD)/usbarmory.dcd
	mkimage -n $(BUILD)/usbarmory.dcd -T imximage -e $(TEXT_START) -d $(BUILD)/tamach-usbarmory.bin $@ >/dev/null
	bin/imxtool entry $< $@
	bin/imxtool check $@

usbboot: imx
	@scripts/deps.sh imx_usb
	imx_usb $(BUILD)/tamach-usbarmory.imx

flash: imx bin/flash
	@if [[ -z "$(DEV)" ]]; then echo "usage: make flash DEV=/dev/sdX (a removable SD card, not a partition)" >&2; exit 1; fi
	bin/flash $(BUILD)/tamach-usbarmory.imx "$(DEV)"

test: fmt-check vet test-host fuzz-short test-target test-boot test-imx
	@echo "make test: all passed"

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^$$' ) 2>&1); \
	if [[ -n "$$bad" ]]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi

vet: tamago-check
	go vet ./...
	$(TARGET_ENV) $(TAMAGO) vet -tags linkramsize ./...

# TAMACH_NBD=required: the NBD tests fail, not skip, without qemu-nbd.
test-host:
	@scripts/deps.sh qemu-nbd
	TAMACH_NBD=required go test -count=1 ./...

fuzz-short:
	scripts/fuzz.sh $(FUZZTIME)

fuzz:
	scripts/fuzz.sh $${FUZZTIME:-1m}

test-target: tamago-check bin/qemu-run
	@scripts/deps.sh qemu-system-arm
	@pkgs="$(TARGET_PKGS)"; [[ -n "$$pkgs" ]] || { echo "no on-target tests found" >&2; exit 1; }; \
	echo "on-target tests in QEMU: $$pkgs"; \
	$(TARGET_ENV) $(TAMAGO) test -count=1 -v -timeout $(TARGET_TIMEOUT) -tags linkramsize \
		-ldflags "$(TARGET_LDFLAGS)" -exec $(CURDIR)/bin/qemu-run $$pkgs

# Host tests that build guests and boot them through the runner: the
# runner's own tests (failing, panicking, hanging guests), the fault
# report of an unhandled abort, and the network guests (cmd/netdemo:
# paging to qemu-nbd, two guests sharing an object).
test-boot: tamago-check
	@scripts/deps.sh qemu-system-arm
	@scripts/deps.sh qemu-nbd
	TAMACH_TARGET=1 TAMACH_NBD=required go test -count=1 -run '^TestTarget' -v $$(go list ./... | grep -v /testdata/)

test-imx: imx
	TAMACH_IMX=$(CURDIR)/$(BUILD)/tamach-usbarmory.imx TAMACH_IMX_ELF=$(CURDIR)/$(BUILD)/demo-usbarmory.elf \
		go test -count=1 -run TestBuiltImage -v ./board/imx

clean:
	rm -rf $(BUILD) bin

FORCE:
