package motest

import (
	"errors"
	"time"

	"github.com/tamach/tamach/mo"
)

// ScriptConfig describes a pager to RunCallScript.
type ScriptConfig struct {
	// Obj is a fresh object of Size bytes (a multiple of 64 KiB).
	Obj  mo.Object
	Size mo.Size
	// Initial gives the object's first contents; nil means zeros.
	Initial func(off mo.Offset) byte
}

// scriptPageSizes are the page sizes a script chooses from, good and bad.
var scriptPageSizes = [8]mo.Size{4 << 10, 16 << 10, 64 << 10, 8 << 10, 0, 3000, 1 << 30, 4<<10 + 512}

// RunCallScript decodes script into a sequence of kernel-to-pager calls on
// two kernels and makes them, for fuzzing every input a pager receives: page
// sizes good and bad, offsets and sizes aligned or not, in range or not,
// calls on controls never initialised, refused, or terminated. It checks
// that the pager refuses what is malformed with a Mach return code and
// answers nothing for it, accepts what is well formed and answers each
// requested page once with the right data, and makes no call after
// terminate. It returns the first violation, or nil.
//
// Each call takes a selector byte and up to four argument bytes; a short
// script reads zeros.
func RunCallScript(cfg ScriptConfig, script []byte) error {
	if cfg.Size < 128<<10 || cfg.Size%(64<<10) != 0 {
		return mo.KernInvalidArgument
	}
	p := &pagerRun{run: &run{scenario: "CallScript", timeout: 5 * time.Second}, cfg: PagerConfig{Size: cfg.Size, Initial: cfg.Initial}, obj: cfg.Obj}
	p.expect = make([]byte, cfg.Size)
	if cfg.Initial != nil {
		for i := range p.expect {
			p.expect[i] = cfg.Initial(mo.Offset(i))
		}
	}
	return p.do(func() { p.script(script); p.quiesce(); p.check() })
}

func (p *pagerRun) script(script []byte) {
	next := func() byte {
		if len(script) == 0 {
			return 0
		}
		b := script[0]
		script = script[1:]
		return b
	}
	var ks [2]*KernelControl
	for i := range ks {
		ks[i] = p.control(4 << 10)
	}
	for steps := 0; len(script) > 0 && steps < 256; steps++ {
		sel := next()
		k := ks[sel>>7]
		if sel&7 == 0 {
			// init, with a page size from the table.
			ps := scriptPageSizes[next()%8]
			if k.state != ctlNew {
				continue // a kernel sends init once per control
			}
			k.pageSize = ps
			err := k.init(ps)
			good := mo.CheckPageSize(ps) == nil && p.cfg.Size%ps == 0
			p.verdict(k, mo.OpInit, good, err)
			if good {
				k.waitFor(RuleInitOncePerKernel, "ready after init", func() bool { return k.ready })
			}
			continue
		}
		ps := k.pageSize
		a, b := next(), next()
		off := mo.Offset(a) * mo.Offset(ps)
		length := mo.Size(b%4+1) * ps
		if b&0x80 != 0 { // raw values: mostly malformed
			off = mo.Offset(a)<<9 | mo.Offset(next())
			length = mo.Size(b&0x3f) << 9
		}
		if k.state == ctlNew {
			// A call on a control that never had init: refused, and it
			// uses no seqno of that control.
			err := p.obj.DataRequest(0, k, off, length, mo.ProtRead)
			p.verdict(k, mo.OpDataRequest, false, err)
			continue
		}
		live := k.state == ctlLive
		good := live && mo.CheckRange(off, length, ps, p.cfg.Size) == nil
		switch sel & 7 {
		case 1, 2: // data_request
			if good {
				for o := off; o < off+mo.Offset(length); o += mo.Offset(ps) {
					if k.pending[o] {
						good = false // a kernel asks for a page once
					}
				}
				if !good {
					continue
				}
			}
			err := k.request(off, length, mo.ProtRead)
			p.verdict(k, mo.OpDataRequest, good, err)
			if good {
				p.quiesce()
				p.await(k, off, length)
			}
		case 3: // data_return, dirty
			if length > 256<<10 {
				continue
			}
			data := make([]byte, length)
			for i := range data {
				data[i] = a ^ byte(i>>9)
			}
			err := k.dataReturn(off, data, true, b&1 != 0)
			p.verdict(k, mo.OpDataReturn, good, err)
			if good && err == nil {
				copy(p.expect[off:], data)
			}
		case 4: // data_unlock
			err := k.call(mo.OpDataUnlock, off, length, func(s mo.Seqno) error { return p.obj.DataUnlock(s, k, off, length, mo.ProtWrite) })
			p.verdict(k, mo.OpDataUnlock, good, err)
		case 5: // synchronize
			if good {
				k.mu.Lock()
				k.syncs[off] = length
				k.mu.Unlock()
			}
			err := k.call(mo.OpSynchronize, off, length, func(s mo.Seqno) error { return p.obj.Synchronize(s, k, off, length, mo.SyncSynchronous) })
			p.verdict(k, mo.OpSynchronize, good, err)
			if good {
				p.quiesce()
				k.waitFor(RuleSynchronize, "synchronize_completed", func() bool { return len(k.syncs) == 0 })
			}
		case 6: // terminate
			if k.state != ctlLive {
				continue
			}
			p.quiesce()
			if err := k.Terminate(); err != nil {
				p.fail(RuleNoCallAfterTerminate, "%v: terminate refused: %v", k, err)
			}
		case 7: // a call on a dead or unknown control, or a completion
			if live {
				err := k.call(mo.OpLockCompleted, off, length, func(s mo.Seqno) error { return p.obj.LockCompleted(s, k, off, length) })
				p.verdict(k, mo.OpLockCompleted, true, err)
				continue
			}
			err := k.call(mo.OpDataRequest, off, length, func(s mo.Seqno) error { return p.obj.DataRequest(s, k, off, length, mo.ProtRead) })
			p.verdict(k, mo.OpDataRequest, false, err)
			if k.state == ctlTerminated && err != nil && !errors.Is(err, mo.KernTerminated) {
				p.fail(RuleNoCallAfterTerminate, "%v: data_request on a terminated control: got %v, want KERN_TERMINATED", k, err)
			}
		}
		p.check()
	}
}

// verdict checks a pager's result for a call that was well formed or not.
func (p *pagerRun) verdict(k *KernelControl, op mo.Op, good bool, err error) {
	var code mo.Return
	switch {
	case good && !mo.Accepted(err):
		p.fail(RuleBadInputRefused, "%v: well-formed %v refused: %v", k, op, err)
	case !good && mo.Accepted(err):
		p.fail(RuleBadInputRefused, "%v: malformed %v accepted", k, op)
	case !good && !errors.As(err, &code):
		p.fail(RuleBadInputRefused, "%v: malformed %v refused without a Mach return code: %v", k, op, err)
	}
}
