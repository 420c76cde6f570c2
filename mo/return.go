package mo

import "errors"

// Return is a Mach kern_return_t. Every value but KernSuccess is an error
// whose text keeps the meaning Mach gives it, so a caller can test for a code
// with errors.Is(err, mo.KernInvalidArgument) even through wrapping.
//
// Returning one of the constants below as an error does not allocate: the
// compiler places constant interface conversions in read-only data.
type Return int32

// Mach return codes (mach/kern_return.h, mach/mig_errors.h). The numbers are
// Mach's, so a code read from a trace means the same as in a Mach source.
const (
	KernSuccess           Return = 0
	KernInvalidAddress    Return = 1
	KernProtectionFailure Return = 2
	KernNoSpace           Return = 3
	KernInvalidArgument   Return = 4
	KernFailure           Return = 5
	KernResourceShortage  Return = 6
	KernNotReceiver       Return = 7
	KernNoAccess          Return = 8
	KernMemoryFailure     Return = 9
	KernMemoryError       Return = 10
	KernAborted           Return = 14
	KernInvalidValue      Return = 18
	KernMemoryPresent     Return = 23
	KernInvalidObject     Return = 29
	KernTerminated        Return = 37
	KernNotSupported      Return = 46
	KernOperationTimedOut Return = 49
	MigNoReply            Return = -305
)

var returnNames = map[Return]struct{ name, meaning string }{
	KernSuccess:           {"KERN_SUCCESS", "the operation was successful"},
	KernInvalidAddress:    {"KERN_INVALID_ADDRESS", "the address is not valid or not allocated"},
	KernProtectionFailure: {"KERN_PROTECTION_FAILURE", "the access is not permitted by the protection"},
	KernNoSpace:           {"KERN_NO_SPACE", "no room in the address space or store"},
	KernInvalidArgument:   {"KERN_INVALID_ARGUMENT", "an argument is not valid"},
	KernFailure:           {"KERN_FAILURE", "the operation failed or is not supported"},
	KernResourceShortage:  {"KERN_RESOURCE_SHORTAGE", "a resource shortage prevented the operation"},
	KernNotReceiver:       {"KERN_NOT_RECEIVER", "the caller does not hold the right to receive"},
	KernNoAccess:          {"KERN_NO_ACCESS", "access is denied"},
	KernMemoryFailure:     {"KERN_MEMORY_FAILURE", "the memory object's data could not be obtained"},
	KernMemoryError:       {"KERN_MEMORY_ERROR", "the memory manager reported an error for this data"},
	KernAborted:           {"KERN_ABORTED", "the operation was aborted"},
	KernInvalidValue:      {"KERN_INVALID_VALUE", "a value is out of range"},
	KernMemoryPresent:     {"KERN_MEMORY_PRESENT", "the page is already present"},
	KernInvalidObject:     {"KERN_INVALID_OBJECT", "the memory object is not valid"},
	KernTerminated:        {"KERN_TERMINATED", "the object has been terminated and is no longer available"},
	KernNotSupported:      {"KERN_NOT_SUPPORTED", "the operation is not supported"},
	KernOperationTimedOut: {"KERN_OPERATION_TIMED_OUT", "the operation timed out"},
	MigNoReply:            {"MIG_NO_REPLY", "no reply now: the answer comes later"},
}

// Name is the Mach spelling of the code, or "KERN_0x..." for an unknown one.
func (r Return) Name() string {
	if n, ok := returnNames[r]; ok {
		return n.name
	}
	return "KERN_" + hex32(uint32(r))
}

// Error implements error: "KERN_INVALID_ARGUMENT: an argument is not valid".
func (r Return) Error() string {
	if n, ok := returnNames[r]; ok {
		return n.name + ": " + n.meaning
	}
	return r.Name() + ": unknown return code"
}

// Err is the error form of r: nil for KernSuccess, r itself otherwise.
func (r Return) Err() error {
	if r == KernSuccess {
		return nil
	}
	return r
}

// ReturnOf maps an error to the Mach code it carries: KernSuccess for nil,
// the code found by errors.As for an error that wraps a Return, and
// KernFailure for any other error.
func ReturnOf(err error) Return {
	if err == nil {
		return KernSuccess
	}
	if r, ok := err.(Return); ok {
		return r
	}
	var r Return
	if errors.As(err, &r) {
		return r
	}
	return KernFailure
}

// Accepted reports whether a result returned by an Object method means the
// call was taken: KERN_SUCCESS or MIG_NO_REPLY (memory_object_init: any
// other value makes the server drop the control reference).
func Accepted(err error) bool {
	r := ReturnOf(err)
	return r == KernSuccess || r == MigNoReply
}

func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	var b [10]byte
	b[0], b[1] = '0', 'x'
	for i := 9; i >= 2; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}
