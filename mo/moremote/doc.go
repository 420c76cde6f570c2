// Package moremote carries the memory-object protocol of package mo over
// a stream (TCP), so that a pager in one machine can serve kernels in
// others, as Mach's network memory servers did with its messages.
//
// A Server exports local mo.Object values under numbers and serves one
// connection per kernel; a Client is a kernel's end of such a connection
// and gives it a proxy mo.Object per remote object. The proxy is not
// mo.FaultSafe: vm calls it from its call workers, never from the fault
// handler.
//
// # Calls and results
//
// Every kernel-to-pager call (init, data_request, data_unlock,
// data_return, data_initialize, synchronize, terminate, lock_completed,
// supply_completed, change_completed) is a frame carrying the call's
// seqno; the proxy waits for the result frame and returns the pager's Mach
// code (and its text), so a refused data_return is a refusal for the
// kernel too, which then keeps the page dirty. The server runs each call
// on a goroutine of its own: a pager orders a control's calls by seqno
// (mo.Sequencer), and a call that waits for another kernel (a coherence
// pager revoking a page) does not hold up the calls behind it.
//
// Pager-to-kernel calls (data_supply, data_unavailable, data_error,
// lock_request, change_attributes, destroy, ready, synchronize_completed)
// are one-way messages, as in Mach: the remote control returns once the
// frame is written (KernTerminated once the control was terminated or the
// connection is gone), and the client delivers them to the kernel's
// control one at a time, in the order sent, from a goroutine of its own,
// so that a kernel carrying out a lock_request may call the pager (its
// data_return) while later messages wait. get_attributes is the exception:
// it waits for the kernel's answer, which the client gives at once.
//
// # Frames
//
// A frame is a 4-byte big-endian length, then a 64-byte header and the
// variable parts (see frame's comment in frame.go for the offsets): the
// frame's number (frames are numbered from 1 in each direction of a
// connection, and a frame out of sequence ends it), the mo.Op (100 for a
// result), flags, a protection, a policy, the object's number, the
// control's number (given by the client at init), the seqno (of a result:
// the number of the frame it answers), offset, length, a Mach code, the
// error offset of supply_completed, then a reason's text (at most MaxText
// bytes) and page data (at most MaxData). Anything malformed (an unknown
// op, a field its op does not use, data or text where none belongs,
// lengths that disagree) is ErrFrame and closes the connection;
// FuzzDecodeFrame checks the decoder.
//
// # A kernel that goes away
//
// When a kernel's connection ends, the server ends each of its controls
// that was initialised and not terminated with a terminate of the next
// seqno, once the calls under way have returned, so the pager forgets
// that kernel as if it had unmapped the object. Server.Drop closes the
// connection of one remote control: a pager that gave up waiting for a
// kernel uses it. On the kernel's side every waiting call fails with
// ErrDisconnected (which wraps KERN_FAILURE).
package moremote
