//go:build tamago

package netstack_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	_ "github.com/tamach/tamach/board/qemu"
	"github.com/tamach/tamach/netstack"
	"github.com/tamach/tamach/pager/nbd"
)

// On-target benchmarks of paging over the network: an NBD server must
// answer at 10.0.2.100:10809 (make bench starts qemu-nbd and forwards the
// guest to it with netrelay); without one they skip. Under qemu-run
// -icount, ns/op counts guest instructions, waiting included (the guest
// spins while the host answers); stack-instr/op is the part spent in the
// network stack (netstack.Stats: receive processing and connection
// writes).

var (
	benchAddr  = netip.MustParseAddrPort("10.0.2.100:10809")
	stackOnce  sync.Once
	benchStack *netstack.Stack
	stackErr   error
)

// stack brings up ENET1 and the stack once for all benchmarks (the ENET
// is initialised once).
func stack(b *testing.B) *netstack.Stack {
	b.Helper()
	stackOnce.Do(func() {
		nic, err := netstack.ENET1(net.HardwareAddr{0x02, 0x74, 0x61, 0x6d, 0x61, 0x02})
		if err != nil {
			stackErr = err
			return
		}
		benchStack, stackErr = netstack.New(nic, netstack.QEMUConfig())
	})
	if stackErr != nil {
		b.Fatal(stackErr)
	}
	return benchStack
}

func client(b *testing.B) (*netstack.Stack, *nbd.Client) {
	b.Helper()
	st := stack(b)
	c, err := nbd.New(nbd.Config{Dial: st.Dialer(benchAddr), Export: "tamach", Timeout: 5 * time.Second})
	if err != nil {
		b.Skipf("no NBD server at %v (make bench starts one): %v", benchAddr, err)
	}
	b.Cleanup(func() { c.Close() })
	return st, c
}

const benchPages = 64

// reportStack reports the stack's share of the measured loop.
func reportStack(b *testing.B, st *netstack.Stack, before netstack.Stats) {
	after := st.Stats()
	inStack := after.RxTime - before.RxTime + after.TxTime - before.TxTime
	b.ReportMetric(float64(inStack.Nanoseconds())/float64(b.N), "stack-instr/op")
	b.ReportMetric(100*float64(inStack)/float64(b.Elapsed()), "stack-%")
}

// BenchmarkTargetNBDPageOut is one 4 KiB NBD_CMD_WRITE with FUA from the
// guest, acknowledged: what the default pager's page-out over pager/nbd
// waits for.
func BenchmarkTargetNBDPageOut(b *testing.B) {
	st, c := client(b)
	page := bytes.Repeat([]byte{0x5a, 0xa5, 1, 2}, 1024)
	before := st.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page[0] = byte(i)
		if err := c.WritePage(uint64(i%benchPages), page); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportStack(b, st, before)
}

// BenchmarkTargetNBDPageIn is one 4 KiB NBD_CMD_READ from the guest.
func BenchmarkTargetNBDPageIn(b *testing.B) {
	st, c := client(b)
	page := make([]byte, 4096)
	for i := 0; i < benchPages; i++ {
		page[0] = byte(i)
		if err := c.WritePage(uint64(i), page); err != nil {
			b.Fatal(err)
		}
	}
	before := st.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.ReadPage(uint64(i%benchPages), page); err != nil {
			b.Fatal(err)
		}
		if page[0] != byte(i%benchPages) {
			b.Fatalf("page %d read back wrong", i%benchPages)
		}
	}
	b.StopTimer()
	reportStack(b, st, before)
}

// BenchmarkTargetTCPConnect is one TCP connection from the guest to the
// server's port and its close (the host end starts a netrelay for each).
func BenchmarkTargetTCPConnect(b *testing.B) {
	st, _ := client(b)
	before := st.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := st.DialTCP(ctx, benchAddr)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.StopTimer()
	reportStack(b, st, before)
}

// BenchmarkTargetCopy4K is the reference: a 4 KiB copy in this binary.
func BenchmarkTargetCopy4K(b *testing.B) {
	src, dst := make([]byte, 4096), make([]byte, 4096)
	for i := 0; i < b.N; i++ {
		copy(dst, src)
	}
}
