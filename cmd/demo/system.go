//go:build tamago

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tamach/tamach/board"
	"github.com/tamach/tamach/cmd/demo/internal/probe"
	"github.com/tamach/tamach/cmd/demo/internal/shell"
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pager/defaultpager"
)

// The demo as the console sees it (shell.System).

func (d *demo) Sample() probe.Sample { return probe.Take(d.now(), d.target.Kernel, d.probe) }

func (d *demo) Objects() []defaultpager.ObjectInfo { return d.pager.Objects() }

func (d *demo) ObjectPages(id defaultpager.ObjectID) ([]defaultpager.PageInfo, error) {
	return d.pager.ObjectPages(id)
}

func (d *demo) Stores() ([]shell.Store, defaultpager.Info, defaultpager.Stats) {
	info, err := d.pager.BackingStoreInfo(d.store)
	var stores []shell.Store
	if err == nil {
		stores = append(stores, shell.Store{ID: d.store, Info: info, What: fmt.Sprintf("RAM over the board's store region %v", d.layout.Store)})
	}
	return stores, d.pager.Info(), d.pager.Stats()
}

func (d *demo) Window() board.Region { return d.window }

// Mappings lists the regions the demo allocated, with the default
// pager's object behind each.
func (d *demo) Mappings() []shell.Mapping {
	var out []shell.Mapping
	objs := d.probe.Objects()
	for i, r := range d.regions {
		m := shell.Mapping{Addr: r.Addr(), Size: r.Size()}
		if i < len(objs) {
			if o, ok := objs[i].Inner().(*defaultpager.Object); ok {
				m.Object = o.ID()
			}
		}
		out = append(out, m)
	}
	return out
}

func (d *demo) Load(addr uint32) byte { return load(addr) }

func (d *demo) Trace() *mo.Trace { return d.trace }

// objectTable prints the default pager's objects and where their pages
// are (object_pages).
func (d *demo) objectTable(w io.Writer) {
	shell.WriteObjects(w, d.Objects(), d.Mappings(), d.ObjectPages, d.pager.PageSize())
	stores, info, st := d.Stores()
	shell.WriteStores(w, stores, info, st)
}

// console runs the console on the board's serial port until exit.
func (d *demo) console() {
	shell.New(d, consoleOut{}).Run(serialIn{})
}

// serialIn reads the board's console UART, polling: TamaGo has no
// interrupt-driven serial input, and os.Stdin is not wired to it.
type serialIn struct{}

func (serialIn) ReadByte() (byte, error) {
	for {
		if c, ok := consoleUART.Rx(); ok {
			return c, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// consoleOut writes to the console as fmt.Print does (TamaGo sends
// standard output to the board's console UART).
type consoleOut struct{}

func (consoleOut) Write(p []byte) (int, error) { return fmt.Print(string(p)) }
