package pmap_test

import (
	"fmt"

	"github.com/tamach/tamach/pmap"
)

// How vm's fault handler uses a Pmap: enter a page in answer to a read
// fault, then let Upgrade track the first write.
func ExamplePmap_Upgrade() {
	mem, _ := pmap.NewFakeMem(0x80004000, 0x9ff00000, 4)
	p, _ := pmap.New(pmap.Config{
		Base: 0xc0000000, Size: 1 << 20,
		Phys: []pmap.Range{{Start: 0x90000000, Size: 0x0ff00000}},
		Mem:  mem, Alloc: mem, MMU: pmap.NewRecordingMMU(0),
	})
	w := pmap.Walker{Mem: mem, DACR: 1, AFE: true} // the hardware, on the host

	_, f, _ := w.Walk(0xc0003010, pmap.Read)
	fmt.Println("read:", f.Kind, "fault, level", f.Level)
	p.Enter(0xc0003000, 0x90042000, pmap.ProtRead|pmap.ProtWrite, pmap.MemNormal, pmap.Page4K, pmap.Accessed)

	tr, _, ok := w.Walk(0xc0003010, pmap.Read)
	fmt.Printf("read: ok %v pa %#x\n", ok, tr.PA)

	_, f, _ = w.Walk(0xc0003010, pmap.Write)
	fmt.Println("write:", f.Kind, "fault; upgrade:", p.Upgrade(&f) == pmap.UpgradedModified)
	_, _, ok = w.Walk(0xc0003010, pmap.Write)
	fmt.Println("write: ok", ok, "modified", p.IsModified(0xc0003000))
	// Output:
	// read: translation fault, level 1
	// read: ok true pa 0x90042010
	// write: permission fault; upgrade: true
	// write: ok true modified true
}
