package pmap

// Fault status decoding for the short-descriptor format: DFSR (B4.1.52)
// and IFSR (B4.1.96), FS encodings of Table B3-23; DFAR (B4.1.53) and
// IFAR (B4.1.97) hold the faulting address.

// Access is the kind of memory access.
type Access uint8

const (
	Read Access = iota
	Write
	Execute
)

func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	case Execute:
		return "execute"
	}
	return "access(?)"
}

// FaultKind classifies a fault status.
type FaultKind uint8

const (
	KindOther            FaultKind = iota // debug, lockdown, coprocessor, reserved
	KindAlignment                         // 0b00001
	KindTranslation                       // 0b00101 section, 0b00111 page
	KindAccessFlag                        // 0b00011 section, 0b00110 page
	KindDomain                            // 0b01001 section, 0b01011 page
	KindPermission                        // 0b01101 section, 0b01111 page
	KindExternal                          // external aborts and parity errors, on access or walk
	KindCacheMaintenance                  // 0b00100: fault on instruction cache maintenance
)

func (k FaultKind) String() string {
	switch k {
	case KindAlignment:
		return "alignment"
	case KindTranslation:
		return "translation"
	case KindAccessFlag:
		return "access flag"
	case KindDomain:
		return "domain"
	case KindPermission:
		return "permission"
	case KindExternal:
		return "external"
	case KindCacheMaintenance:
		return "icache maintenance"
	}
	return "other"
}

// Fault status register fields (DFSR; IFSR has the same FS, ExT and LPAE
// positions and no WnR or CM).
const (
	fsrFSLow = 0xf     // FS[3:0]
	fsrFS4   = 1 << 10 // FS[4]
	fsrWnR   = 1 << 11 // write not read (DFSR)
	fsrExT   = 1 << 12 // external abort type
	fsrCM    = 1 << 13 // cache maintenance fault (DFSR)
	fsrLPAE  = 1 << 9  // long-descriptor format (0 here)
)

// FS status codes (5 bits, FS[4] as bit 4), Table B3-23.
const (
	FSAlignment          = 0b00001
	FSDebug              = 0b00010
	FSAccessFlagSection  = 0b00011
	FSICacheMaintenance  = 0b00100
	FSTranslationSection = 0b00101
	FSAccessFlagPage     = 0b00110
	FSTranslationPage    = 0b00111
	FSExternal           = 0b01000
	FSDomainSection      = 0b01001
	FSDomainPage         = 0b01011
	FSExternalWalkL1     = 0b01100
	FSPermissionSection  = 0b01101
	FSExternalWalkL2     = 0b01110
	FSPermissionPage     = 0b01111
	FSLockdown           = 0b10100
	FSAsyncExternal      = 0b10110
	FSAsyncParity        = 0b11000
	FSParity             = 0b11001
	FSCoprocessor        = 0b11010
	FSParityWalkL1       = 0b11100
	FSParityWalkL2       = 0b11110
)

// fsClass maps an FS code to its kind and level (0: no level).
var fsClass = [32]struct {
	kind  FaultKind
	level uint8
}{
	FSAlignment:          {KindAlignment, 0},
	FSAccessFlagSection:  {KindAccessFlag, 1},
	FSICacheMaintenance:  {KindCacheMaintenance, 0},
	FSTranslationSection: {KindTranslation, 1},
	FSAccessFlagPage:     {KindAccessFlag, 2},
	FSTranslationPage:    {KindTranslation, 2},
	FSExternal:           {KindExternal, 0},
	FSDomainSection:      {KindDomain, 1},
	FSDomainPage:         {KindDomain, 2},
	FSExternalWalkL1:     {KindExternal, 1},
	FSPermissionSection:  {KindPermission, 1},
	FSExternalWalkL2:     {KindExternal, 2},
	FSPermissionPage:     {KindPermission, 2},
	FSAsyncExternal:      {KindExternal, 0},
	FSAsyncParity:        {KindExternal, 0},
	FSParity:             {KindExternal, 0},
	FSParityWalkL1:       {KindExternal, 1},
	FSParityWalkL2:       {KindExternal, 2},
}

// Fault is a decoded abort.
type Fault struct {
	Addr   uint32 // DFAR or IFAR (UNKNOWN for asynchronous aborts)
	Access Access
	Kind   FaultKind
	Level  uint8  // translation table level, 1 or 2; 0 when not applicable
	Status uint32 // raw DFSR or IFSR
	// G identifies the goroutine that took the fault, as CurrentG does
	// for the calling goroutine; 0 when unknown. The abort hook sets it
	// (the interrupted context's g); the decoders leave it 0.
	G uintptr
}

// FS returns the 5-bit fault status code.
func (f *Fault) FS() uint32 { return fsOf(f.Status) }

func fsOf(fsr uint32) uint32 { return fsr&fsrFSLow | fsr>>6&0x10 }

// CacheMaintenance reports DFSR.CM: the fault came from a cache
// maintenance operation by address (WnR is then 1).
func (f *Fault) CacheMaintenance() bool { return f.Access != Execute && f.Status&fsrCM != 0 }

// ExternalType reports the ExT bit (IMPLEMENTATION DEFINED classification
// of external aborts).
func (f *Fault) ExternalType() bool { return f.Status&fsrExT != 0 }

// AddrValid reports whether Addr is meaningful: false for asynchronous
// aborts and debug events, where DFAR is UNKNOWN.
func (f *Fault) AddrValid() bool {
	switch f.FS() {
	case FSAsyncExternal, FSAsyncParity, FSDebug:
		return false
	}
	return true
}

// Synchronous reports whether the faulting instruction can be retried.
func (f *Fault) Synchronous() bool {
	fs := f.FS()
	return fs != FSAsyncExternal && fs != FSAsyncParity
}

// DecodeData decodes a data abort from DFSR and DFAR.
func DecodeData(dfsr, dfar uint32) Fault {
	fs := fsOf(dfsr)
	c := fsClass[fs]
	acc := Read
	if dfsr&fsrWnR != 0 {
		acc = Write
	}
	return Fault{Addr: dfar, Access: acc, Kind: c.kind, Level: c.level, Status: dfsr}
}

// DecodePrefetch decodes a prefetch abort from IFSR and IFAR.
func DecodePrefetch(ifsr, ifar uint32) Fault {
	fs := fsOf(ifsr)
	c := fsClass[fs]
	if fs == FSAsyncExternal || fs == FSAsyncParity || fs == FSICacheMaintenance {
		// not valid IFSR encodings (Table B3-23)
		c.kind, c.level = KindOther, 0
	}
	return Fault{Addr: ifar, Access: Execute, Kind: c.kind, Level: c.level, Status: ifsr}
}

// faultStatus builds the status word the hardware reports for a fault of
// the given FS code and access: WnR for writes, nothing else (the Domain
// field, bits[7:4], is deprecated and not modelled: compare faults by
// Kind, Level, Access and FS).
func faultStatus(fs uint32, acc Access) uint32 {
	s := fs&fsrFSLow | fs&0x10<<6
	if acc == Write {
		s |= fsrWnR
	}
	return s
}

func makeFault(va uint32, acc Access, fs uint32) Fault {
	c := fsClass[fs]
	return Fault{Addr: va, Access: acc, Kind: c.kind, Level: c.level, Status: faultStatus(fs, acc)}
}

// Same reports whether f and g are the same fault as far as the hardware
// defines it: address, access, FS code.
func (f *Fault) Same(g *Fault) bool {
	return f.Addr == g.Addr && f.Access == g.Access && f.FS() == g.FS()
}

// Resolution is what a fault handler decided.
type Resolution uint8

const (
	// Unhandled: nobody resolved the fault; the abort hook reports it and
	// stops the program.
	Unhandled Resolution = iota
	// Retry: the mapping is fixed; return from the exception and retry.
	Retry
	// Yield: the faulting goroutine must wait; the abort hook redirects
	// it through the fault-yield trampoline (it retries when rescheduled).
	// A fault taken on g0 cannot yield: the hook treats Yield as Unhandled
	// there, so a handler should serve g0 faults synchronously.
	Yield
)

func (r Resolution) String() string {
	switch r {
	case Retry:
		return "retry"
	case Yield:
		return "yield"
	}
	return "unhandled"
}

// FaultHandler resolves a fault. It runs on g0 with IRQs masked: it must
// not block, allocate or take a contended lock (package doc).
type FaultHandler interface {
	HandleFault(f *Fault, onG0 bool) Resolution
}

// Dispatcher holds the one registered fault handler. The abort hook keeps
// one Dispatcher; tests make as many as they like.
type Dispatcher struct {
	h FaultHandler
	// Counts of dispatched faults by resolution; not synchronised (the
	// hook runs with IRQs masked on one core).
	Counts [3]uint64
}

// Register installs h, replacing any previous handler, and returns the
// previous one (nil for none).
func (d *Dispatcher) Register(h FaultHandler) FaultHandler {
	old := d.h
	d.h = h
	return old
}

// Dispatch hands f to the registered handler. Without a handler, or for
// an asynchronous abort, the answer is Unhandled; on g0, Yield becomes
// Unhandled.
func (d *Dispatcher) Dispatch(f *Fault, onG0 bool) Resolution {
	r := Unhandled
	if d.h != nil && f.Synchronous() {
		r = d.h.HandleFault(f, onG0)
		if r > Yield || (r == Yield && onG0) {
			r = Unhandled
		}
	}
	d.Counts[r]++
	return r
}
