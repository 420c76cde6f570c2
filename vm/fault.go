package vm

import (
	"github.com/tamach/tamach/mo"
	"github.com/tamach/tamach/pmap"
)

// HandleFault implements pmap.FaultHandler. It runs on g0 with IRQs
// masked on the target, so it never blocks, never allocates and never
// waits for the kernel lock (package doc, "The fault path").
//
//   - access flag or write-permission fault on a mapped page whose
//     protection allows it: pmap.Upgrade sets referenced or modified
//     (the page's dirty bit is set with it);
//   - translation fault on a resident page: the page is entered, with the
//     access flag set and, for a write, writable and dirty;
//   - missing page of anonymous memory (a default pager's object) that
//     never went to the pager: zero-filled by the kernel, entered, no call;
//   - missing page otherwise: data_request (clustered), made with the lock released;
//     a pager that answers inside the call is served at once (Retry),
//     otherwise the goroutine waits (Yield) and retries;
//   - write (or read) prohibited by the page's lock: data_unlock, Yield
//     (Unhandled if the pager refused it);
//   - page in transit (requested, or being returned): Yield;
//   - data_error page, no mapping, protection violation, terminated
//     object: Unhandled, with LastUnhandled saying why.
//
// On g0 (onG0) nothing can wait: every case that would Yield is
// Unhandled, except that a synchronous pager is still called.
//
// The fault path's functions (HandleFault, quickFaultLocked,
// fillFaultLocked) need no stack check of their own (go:nosplit): their
// frames are small, what they call checks its own, and the linker checks
// the chain.
//
//go:nosplit
func (k *Kernel) HandleFault(f *pmap.Fault, onG0 bool) pmap.Resolution {
	// The fault lock, without waiting (not a call of its own: this is
	// every fault's path). In the abort hook (pmap.InAbortMode: on g0,
	// IRQs masked, one core) nothing else runs until the handler
	// returns, so the handler needs no lock to exclude others, only to
	// know that no goroutine holds it (interrupted in the middle of an
	// update): there it reads mu.held, takes nothing, and runs elided
	// (k.elided), which spares every fault an atomic compare-and-swap
	// and add (about 60 instructions, twice that with a pager call).
	// elided keeps the previous k.elided for faultUnlock, so that a
	// nested fault's handler, inside the outer one's pager call, leaves
	// the outer one elided. Elsewhere it try-locks k.mu. If ok: k.mu is
	// held, or the handler runs elided.
	var elided, ok bool
	if pmap.InAbortMode() {
		if ok = !k.mu.held; ok {
			elided, k.elided = k.elided, true
		}
	} else {
		ok = k.mu.TryLock()
	}
	if !ok {
		k.lockBusy.Add(1)
		if onG0 {
			k.report(f, ReasonCannotWait)
			return pmap.Unhandled
		}
		return pmap.Yield
	}
	var e *mapEntry // entryAtLocked(f.Addr), its first step inline
	if h := k.hint; h < len(k.entries) && f.Addr-k.entries[h].start < k.entries[h].size {
		e = &k.entries[h]
	} else {
		e = k.searchEntryLocked(f.Addr)
	}
	if e != nil && f.Kind == pmap.KindTranslation {
		var done bool
		if e, done = k.quickFaultLocked(e, f); done {
			wake := k.pool.nfree < k.low
			k.faultUnlock(elided)
			if wake {
				k.wakePageout()
			}
			return pmap.Retry
		}
	}
	k.stats.Faults++
	r, why, wake := k.faultLocked(f, e, onG0)
	switch r {
	case pmap.Yield:
		if onG0 {
			r, why = pmap.Unhandled, ReasonCannotWait
		} else {
			k.stats.Yields++
		}
	}
	if r == pmap.Unhandled {
		k.stats.Unhandled++
	}
	k.faultUnlock(elided)
	if r == pmap.Unhandled {
		k.report(f, why)
	}
	if wake {
		k.wakePageout()
	}
	return r
}

// faultUnlock ends what HandleFault's fault lock began; prev is the
// k.elided it found.
func (k *Kernel) faultUnlock(prev bool) {
	if k.elided {
		k.elided = prev
		return
	}
	k.mu.Unlock()
}

// unlockForCall lets the kernel lock go for a pager call on the fault
// path, which may answer inside the call through the control, which
// takes it; relockAfterCall takes it back. Running elided there is no
// lock to let go: the control takes the free lock and gives it back, and
// nothing else runs meanwhile.
func (k *Kernel) unlockForCall() {
	if !k.elided {
		k.mu.Unlock()
	}
}

func (k *Kernel) relockAfterCall() {
	if !k.elided {
		k.mu.Lock()
	}
}

// answerLock takes the kernel lock for a pager's answer of one page
// (DataSupply, DataUnavailable), unless it comes inside the pager call
// that the fault handler makes running elided (k.elided: in the abort
// hook, the lock free, and nothing else runs until the handler returns,
// so nothing but this answer can see the kernel meanwhile). It reports
// whether it took nothing; answerUnlock(elided) lets go of what it took,
// answerRelock(elided) takes the lock for the answer's general path.
// k.elided is read without the lock: only the handler writes it, and
// while it is set nothing else runs.
//
//go:nosplit
func (k *Kernel) answerLock() (elided bool) {
	if k.elided {
		return true
	}
	k.mu.Lock()
	return false
}

func (k *Kernel) answerUnlock(elided bool) {
	if !elided {
		k.mu.Unlock()
	}
}

func (k *Kernel) answerRelock(elided bool) {
	if elided {
		k.mu.Lock()
	}
}

// accessProt is the protection an access needs.
func accessProt(a pmap.Access) mo.Prot {
	switch a {
	case pmap.Write:
		return mo.ProtWrite
	case pmap.Execute:
		return mo.ProtExecute
	}
	return mo.ProtRead
}

// quickFaultLocked resolves the common translation faults with as few
// calls as it can (on ARM every call passes its arguments through
// memory). The most common, a resident page of a 4 KiB kernel that the
// entry's protection and the page's lock allow, not busy, in error or
// wired there, it resolves itself, with one call (Pmap.EnterPage); the
// others it hands to fillFaultLocked with the frame it found. It reports
// whether it resolved the fault; if not, faultLocked resolves it, with
// the entry returned (looked up again after a call; nil if there is none
// now). The two must agree.
// Preconditions: k.mu is held (or elided); e is the entry holding
// f.Addr; f is a translation fault. Allocates nothing.
//
//go:nosplit
func (k *Kernel) quickFaultLocked(e *mapEntry, f *pmap.Fault) (*mapEntry, bool) {
	acc, w := mo.ProtRead, 0
	if f.Access == pmap.Write {
		acc, w = mo.ProtWrite, 1
	} else if f.Access == pmap.Execute {
		acc = mo.ProtExecute
	}
	o := e.obj
	if e.prot&acc != acc || o.destroy || o.state != objInit && o.state != objReady {
		return e, false
	}
	va := f.Addr
	index := e.first + (va-e.start)>>(k.shift&31)
	p := k.pool
	i := *p.bucket(o.id, index)
	for i != 0 {
		fr := &p.frames[i-1]
		if fr.obj == o.id && fr.index == index {
			break
		}
		i = fr.next
	}
	if i == 0 {
		// Anonymous memory never paged out, in a 4 KiB kernel (k.attrs
		// set), not wired, frames above the reserve: a zeroed frame,
		// entered; fillFaultLocked's first case, with fewer calls.
		if r := o.returned; r != nil && index/32 < uint32(len(r)) && r[index/32]&(1<<(index%32)) == 0 &&
			o.state == objReady && p.nfree > k.reserve && e.region.wired == nil {
			if pa := k.attrs[e.prot&mo.ProtAll][w]; pa != (pmap.PageAttr{}) {
				j := p.alloc(o.id, index, pgUnavailable|pgReferenced|uint16(w)*pgDirty)
				o.resident++
				k.clearFrameLocked(j)
				if k.pm.EnterPage(va&^0xfff, p.base+uint32(j)<<(p.shift&31), pa) != nil {
					// Resident now, zero-filled (counted as such, not as
					// a resident fault): enter it the general way.
					k.stats.PageIns++
					k.stats.ZeroFills++
					if k.enterPageLocked(e, j, va&^0xfff, acc) != nil {
						return e, false
					}
					k.stats.Faults++
					return e, true
				}
				if k.quickZeroFill++; k.quickZeroFill == 1<<31 {
					k.foldQuickZeroFills()
				}
				return e, true
			}
		}
		return k.fillFaultLocked(e, f, -1)
	}
	fr := &p.frames[i-1]
	if fr.flags&(pgBusy|pgError) != 0 || fr.pageLock()&(acc|mo.ProtRead) != 0 || e.region.wired != nil {
		return k.fillFaultLocked(e, f, int(i-1))
	}
	// k.attrs is set in a 4 KiB kernel only: the page is va&^0xfff.
	pa := k.attrs[(e.prot&^fr.pageLock())&mo.ProtAll][w]
	if pa == (pmap.PageAttr{}) || k.pm.EnterPage(va&^0xfff, p.base+(i-1)<<(p.shift&31), pa) != nil {
		return k.fillFaultLocked(e, f, int(i-1))
	}
	if w == 1 {
		fr.flags |= pgReferenced | pgDirty
	} else {
		fr.flags |= pgReferenced
	}
	if k.quickResident++; k.quickResident == 1<<31 {
		k.stats.Faults += 1 << 31
		k.stats.FaultsResident += 1 << 31
		k.quickResident = 0
	}
	return e, true
}

// fillFaultLocked is quickFaultLocked's way for the rest of the common
// translation faults: on a resident page that allows the access, it
// enters the page (a wired one, or in a 64 KiB kernel); on a missing page
// of anonymous memory never paged out, it zero-fills a frame and enters
// it; on a missing page of an object whose pager is called inline
// (mo.FaultSafe), with no other call on the object under way, no
// clustering (none set, or the mapping's behavior random) and frames above
// the reserve, it makes the data_request with
// the lock released and, if the pager answered inside the call, enters
// the page. It reports
// whether it resolved the fault; if not, faultLocked resolves it, with the
// entry returned (looked up again after a call; nil if there is none now).
// The two must agree. i is the page's frame as quickFaultLocked found it
// (-1: missing).
// Preconditions: k.mu is held; e is the entry holding f.Addr, whose
// protection allows the access to its live object. Allocates nothing.
//
//go:nosplit
func (k *Kernel) fillFaultLocked(e *mapEntry, f *pmap.Fault, i int) (*mapEntry, bool) {
	acc := accessProt(f.Access)
	o := e.obj
	index := e.indexOf(f.Addr, k.shift)
	p := k.pool
	missing := i < 0
	if missing && o.state == objReady && o.neverReturned(index) && p.nfree > k.reserve {
		// Anonymous memory never paged out: zeros, no call.
		i = p.alloc(o.id, index, pgUnavailable)
		o.resident++
		k.zeroFillLocked(i)
	} else if missing {
		if o.state != objReady || !o.inline || o.calls.Load() != 0 ||
			o.attr.ClusterSize > mo.Size(k.ps) && e.behavior != BehaviorRandom || p.nfree <= k.reserve {
			return e, false
		}
		i = p.alloc(o.id, index, pgBusy|pgAbsent)
		o.resident++
		req := request{op: mo.OpDataRequest, seq: o.beginCallLocked(), off: k.offsetOf(index),
			len: mo.Size(k.ps), desired: acc | mo.ProtRead}
		k.stats.DataRequests++
		k.stats.FaultsPager++
		k.unlockForCall()
		k.send(o, &req)
		k.relockAfterCall()
		// Where goroutines run in parallel (the host), the map may have
		// changed while the lock was released, and the frame been freed.
		e = k.entryAtLocked(f.Addr)
		if e == nil || e.obj != o || e.prot&acc != acc || e.indexOf(f.Addr, k.shift) != index ||
			o.destroy || !o.live() {
			return e, false
		}
		if fr := &p.frames[i]; fr.obj != o.id || fr.index != index || fr.flags&pgTabled == 0 {
			return e, false
		}
	}
	fr := &p.frames[i]
	if fr.flags&(pgBusy|pgError) != 0 || fr.pageLock()&(acc|mo.ProtRead) != 0 {
		return e, false
	}
	if k.enterPageLocked(e, i, f.Addr&^(k.ps-1), acc) != nil {
		return e, false
	}
	if !missing {
		k.stats.FaultsResident++
	}
	k.stats.Faults++
	return e, true
}

// enterPageLocked maps frame i at va for an access acc through entry e:
// the entry's protection less the page's lock, referenced, and for a
// write writable and dirty.
// Preconditions: k.mu is held; the page is resident, filled, not busy.
//
// It keeps its stack check: below fillFaultLocked the chain of frames
// without one would pass the linker's limit in instrumented builds
// (fuzzing, race, coverage).
func (k *Kernel) enterPageLocked(e *mapEntry, i int, va uint32, acc mo.Prot) error {
	fr := &k.pool.frames[i]
	prot := e.prot &^ fr.pageLock()
	w := 0
	if acc == mo.ProtWrite {
		w = 1
		fr.flags |= pgDirty
	}
	fr.flags |= pgReferenced
	wired := e.wiredAt(va)
	if a := k.attrs[prot&mo.ProtAll][w]; a != (pmap.PageAttr{}) && !wired {
		return k.pm.EnterPage(va, k.pool.pa(i), a)
	}
	flags := pmap.Accessed
	if w == 1 {
		flags |= pmap.Written
	}
	if wired {
		flags |= pmap.Wired
	}
	return k.pm.Enter(va, k.pool.pa(i), moToPmap(prot), pmap.MemNormal, k.psize, flags)
}

// faultLocked resolves f. It may release and retake k.mu around one
// pager call; on the target the retake is uncontended (one core, IRQs
// masked: only the pager's own code ran meanwhile, on this stack).
// Preconditions: k.mu is held; e is the entry holding f.Addr, nil if
// there is none.
func (k *Kernel) faultLocked(f *pmap.Fault, e *mapEntry, onG0 bool) (pmap.Resolution, Reason, bool) {
	if e == nil {
		return pmap.Unhandled, ReasonNoMapping, false
	}
	acc := accessProt(f.Access)
	if e.prot&acc != acc {
		return pmap.Unhandled, ReasonProtection, false
	}
	o := e.obj
	va := f.Addr &^ (k.ps - 1)
	index := e.indexOf(va, k.shift)
	if f.Kind == pmap.KindAccessFlag || f.Kind == pmap.KindPermission {
		// A page lent to its pager (busy) must not be written meanwhile:
		// only a page not in transit is upgraded here.
		if i := k.pool.lookup(o.id, index); i >= 0 && k.pool.frames[i].flags&pgBusy == 0 {
			if up := k.pm.Upgrade(f); up != 0 {
				fr := &k.pool.frames[i]
				fr.flags |= pgReferenced
				if up&pmap.UpgradedModified != 0 {
					fr.flags |= pgDirty
				}
				k.stats.FaultsUpgrade++
				return pmap.Retry, ReasonNone, false
			}
		}
	}
	// The pager's own access, made inside a call a call worker makes on
	// o (it touches its object's memory in data_request): it may need a
	// call on o while that one is under way.
	own := !o.inline && f.G != 0 && o.calls.Load() != 0 && k.inCallOnLocked(f.G, o)
	var req request
	zeroFills := k.stats.ZeroFills
	i, st := k.pageLocked(o, index, acc|mo.ProtRead, e.behavior, &req, !own)
	if st == stCall && !o.inline {
		// Not a fault-safe pager: its calls are made by a call worker,
		// and the access waits for the answer. With every worker busy
		// the call is not made now: the access waits for a worker to
		// finish its call and tries again. If no worker finishes a call
		// for k.callWaitLimit tries, the workers are taken to be waiting
		// for accesses like this one (nested faults deeper than the
		// pool), and the fault is reported instead of waiting forever.
		if !k.callsFreeLocked() {
			k.unprepareLocked(o, &req)
			if !onG0 && k.callWaitLocked() {
				return pmap.Yield, ReasonNoCallWorker, k.pool.nfree < k.low
			}
			return pmap.Unhandled, ReasonNoCallWorker, k.pool.nfree < k.low
		}
		k.deferCallLocked(o, &req)
		if req.op == mo.OpDataRequest {
			k.stats.FaultsPager++
		}
		return pmap.Yield, ReasonCannotWait, k.pool.nfree < k.low
	}
	if st == stCall {
		k.unlockForCall()
		k.send(o, &req)
		k.relockAfterCall()
		if req.op == mo.OpDataRequest {
			k.stats.FaultsPager++
		}
		// Where goroutines run in parallel (the host), the map may have
		// changed while the lock was released, moving the entries: look
		// the entry up again, and let the access retry if it changed.
		if e = k.entryAtLocked(f.Addr); e == nil || e.obj != o || e.prot&acc != acc ||
			e.indexOf(va, k.shift) != index {
			return pmap.Retry, ReasonNone, false
		}
		i, st = k.pageLocked(o, index, acc|mo.ProtRead, e.behavior, nil, true)
	} else if st == stOK && k.stats.ZeroFills == zeroFills {
		k.stats.FaultsResident++
	}
	wake := k.pool.nfree < k.low
	switch st {
	case stOK:
	case stWait:
		if own && !k.ownWaitLocked(o) {
			return pmap.Unhandled, ReasonSelfDeadlock, wake
		}
		return pmap.Yield, ReasonCannotWait, wake
	case stNoMemory:
		if waitable, kept := k.freeableLocked(); onG0 || !waitable {
			if kept {
				return pmap.Unhandled, ReasonPageOutRefused, true
			}
			return pmap.Unhandled, ReasonNoMemory, true
		}
		return pmap.Yield, ReasonNoMemory, true
	case stError:
		return pmap.Unhandled, ReasonDataError, wake
	case stUnlockRefused:
		return pmap.Unhandled, ReasonUnlockRefused, wake
	default:
		return pmap.Unhandled, ReasonTerminated, wake
	}
	if err := k.enterPageLocked(e, i, va, acc); err != nil {
		return pmap.Unhandled, ReasonKernel, wake
	}
	return pmap.Retry, ReasonNone, wake
}

// freeableLocked reports whether some frame could become free by waiting
// (a page-out, or a page in transit): a page that is neither wired nor
// kept (pgKept: its pager refuses its page-out); and whether a kept page
// is in the way. Only the out-of-frames path scans.
// Preconditions: k.mu is held.
func (k *Kernel) freeableLocked() (waitable, kept bool) {
	for i := range k.pool.frames {
		f := &k.pool.frames[i]
		if f.wire != 0 || f.flags&pgFree != 0 {
			continue
		}
		if f.flags&pgKept == 0 {
			return true, kept
		}
		kept = true
	}
	return false, kept
}

// inCallOnLocked reports whether the goroutine g (pmap.Fault.G) is a
// call worker inside a call on o.
// Preconditions: k.mu is held.
func (k *Kernel) inCallOnLocked(g uintptr, o *object) bool {
	for w := range k.workers {
		if k.workers[w].g.Load() == g {
			return k.workers[w].obj.Load() == uint32(o.id)
		}
	}
	return false
}

// ownWaitLocked counts a wait of the pager's own access (inCallOnLocked)
// for a page of its object and reports whether it may go on waiting: it
// may until such accesses have retried k.callWaitLimit times with no call
// worker's call on o returning meanwhile. The pager then waits, inside its
// call, for what waits for that call: the page it was asked for, or
// another page of its object whose call cannot proceed while its own is
// under way (a pager that serves its calls one at a time, or holds its
// mo.Sequencer turn across the access). The access is reported
// (ReasonSelfDeadlock) instead of waiting forever. (A page the pager
// answers from another goroutine meanwhile ends the wait before.)
// Preconditions: k.mu is held.
func (k *Kernel) ownWaitLocked(o *object) bool {
	if done := o.deferredDone.Load(); done != o.waitDone {
		o.waitDone, o.waitTries = done, 0
	}
	o.waitTries++
	return o.waitTries < k.callWaitLimit
}
