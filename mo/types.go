package mo

// Offset is a byte offset within a memory object (vm_offset_t).
type Offset uint64

// Size is a length in bytes (vm_size_t): of a range, of an object, or a page
// size.
type Size uint64

// Seqno is the sequence number of a kernel-to-pager call (mach_port_seqno_t).
// See the package documentation for how calls are numbered.
type Seqno uint64

// Page size limits. A kernel's page size is a power of two between
// MinPageSize and MaxPageSize; memory_object_init says that every call
// involving that kernel uses sizes that are integral multiples of it.
const (
	MinPageSize Size = 1 << 9
	MaxPageSize Size = 1 << 24
)

// CheckPageSize returns KernInvalidArgument unless ps is a power of two in
// [MinPageSize, MaxPageSize].
func CheckPageSize(ps Size) error {
	if ps < MinPageSize || ps > MaxPageSize || ps&(ps-1) != 0 {
		return KernInvalidArgument
	}
	return nil
}

// CheckRange returns KernInvalidArgument unless [offset, offset+length) is a
// non-empty range whose ends are multiples of pageSize, that does not wrap
// around, and that lies within an object of objectSize bytes. A pageSize
// that is not a power of two makes every range invalid.
func CheckRange(offset Offset, length Size, pageSize, objectSize Size) error {
	mask := uint64(pageSize) - 1
	end := uint64(offset) + uint64(length)
	switch {
	case pageSize == 0, uint64(pageSize)&mask != 0,
		length == 0,
		uint64(offset)&mask != 0,
		uint64(length)&mask != 0,
		end < uint64(offset),
		end > uint64(objectSize):
		return KernInvalidArgument
	}
	return nil
}

// Prot is a set of access rights (vm_prot_t). As a lock value it names the
// accesses that are prohibited until the pager unlocks them: a page supplied
// with lock ProtWrite may be read but a write to it sends data_unlock.
type Prot uint8

// Access rights.
const (
	ProtNone    Prot = 0
	ProtRead    Prot = 1 << 0
	ProtWrite   Prot = 1 << 1
	ProtExecute Prot = 1 << 2
	ProtAll          = ProtRead | ProtWrite | ProtExecute
)

// Valid reports whether p has no bits outside ProtAll.
func (p Prot) Valid() bool { return p&^ProtAll == 0 }

// String is "rwx" with '-' for a missing right, as in a trace line.
func (p Prot) String() string {
	var b [3]byte
	return string(p.appendText(b[:0]))
}

func (p Prot) appendText(b []byte) []byte {
	c := [3]byte{'-', '-', '-'}
	if p&ProtRead != 0 {
		c[0] = 'r'
	}
	if p&ProtWrite != 0 {
		c[1] = 'w'
	}
	if p&ProtExecute != 0 {
		c[2] = 'x'
	}
	if !p.Valid() {
		return append(append(b, '?'), c[:]...)
	}
	return append(b, c[:]...)
}

// ParseProt decodes the form String produces ("r-x", "rw-", "---"). Any other
// text gives KernInvalidArgument.
func ParseProt(s string) (Prot, error) {
	if len(s) != 3 {
		return 0, KernInvalidArgument
	}
	var p Prot
	for i, want := range [3]byte{'r', 'w', 'x'} {
		switch s[i] {
		case want:
			p |= 1 << i
		case '-':
		default:
			return 0, KernInvalidArgument
		}
	}
	return p, nil
}

// ReturnPolicy says which pages lock_request sends back (should_return).
type ReturnPolicy uint8

// Return policies (memory_object_return_t).
const (
	ReturnNone  ReturnPolicy = iota // return nothing
	ReturnDirty                     // return dirty pages (and precious ones being flushed)
	ReturnAll                       // return dirty and precious pages
	numReturnPolicies
)

// Valid reports whether r is one of the defined policies.
func (r ReturnPolicy) Valid() bool { return r < numReturnPolicies }

func (r ReturnPolicy) String() string {
	switch r {
	case ReturnNone:
		return "none"
	case ReturnDirty:
		return "dirty"
	case ReturnAll:
		return "all"
	}
	return "invalid"
}

// CopyStrategy is how the kernel copies the object's data
// (memory_object_copy_strategy_t).
type CopyStrategy uint8

// Copy strategies.
const (
	CopyNone      CopyStrategy = iota // the pager handles copies itself
	CopyCall                          // ask the pager (memory_object_copy)
	CopyDelay                         // copy on write, by the kernel
	CopyTemporary                     // a temporary object: the kernel may copy freely
	CopySymmetric                     // symmetric copy on write (internal objects)
	numCopyStrategies
)

// Valid reports whether c is one of the defined strategies.
func (c CopyStrategy) Valid() bool { return c < numCopyStrategies }

func (c CopyStrategy) String() string {
	switch c {
	case CopyNone:
		return "none"
	case CopyCall:
		return "call"
	case CopyDelay:
		return "delay"
	case CopyTemporary:
		return "temporary"
	case CopySymmetric:
		return "symmetric"
	}
	return "invalid"
}

// Attributes are the kernel's view of an object that its pager controls
// (memory_object_attr_info).
type Attributes struct {
	// MayCache lets the kernel keep the object's pages after the last
	// mapping goes (so that terminate may be delayed).
	MayCache bool
	// CopyStrategy says how copies of the object are made.
	CopyStrategy CopyStrategy
	// ClusterSize is how much data the kernel asks for at once, a multiple
	// of the page size; zero means one page.
	ClusterSize Size
}

// Check returns KernInvalidArgument if a is malformed for a kernel with the
// given page size.
func (a Attributes) Check(pageSize Size) error {
	if !a.CopyStrategy.Valid() || uint64(a.ClusterSize)&(uint64(pageSize)-1) != 0 || a.ClusterSize > MaxPageSize*16 {
		return KernInvalidArgument
	}
	return nil
}

// SyncFlags qualify memory_object_synchronize (vm_sync_t).
type SyncFlags uint8

// Synchronize flags.
const (
	SyncAsynchronous SyncFlags = 1 << 0
	SyncSynchronous  SyncFlags = 1 << 1
	SyncInvalidate   SyncFlags = 1 << 2
	syncAll                    = SyncAsynchronous | SyncSynchronous | SyncInvalidate
)

// Valid reports whether f has no unknown bits.
func (f SyncFlags) Valid() bool { return f&^syncAll == 0 }
