// Package nbd is a Network Block Device client that is a store.Store, so
// that the default pager (pager/defaultpager, AddSegment) can keep pages on
// a server that already exists: nbd-server, qemu-nbd, or rbd-nbd in front
// of a Ceph cluster.
//
// # Protocol
//
// The client speaks the NBD protocol's fixed newstyle negotiation (doc/proto.md
// of the nbd project): it reads the greeting (NBDMAGIC, IHAVEOPT, handshake
// flags), answers with NBD_FLAG_C_FIXED_NEWSTYLE (and NBD_FLAG_C_NO_ZEROES
// when offered) and asks for the export by name with NBD_OPT_GO, requesting
// NBD_INFO_EXPORT and NBD_INFO_BLOCK_SIZE. Any NBD_REP_ERR_* answer is
// ErrRefused; so is a read-only export, one whose block size constraints
// exclude the page size, or one smaller than a page. Structured replies are
// not negotiated, so every reply is a simple reply (magic 0x67446698, error,
// handle); a structured one is a protocol error.
//
// In transmission the client makes one request at a time: NBD_CMD_READ for
// ReadPage, NBD_CMD_WRITE for WritePage, NBD_CMD_FLUSH for Sync,
// NBD_CMD_TRIM for Trim, NBD_CMD_DISC on Close. Handles count up from 1 on
// each connection. Slot i is the export's bytes [i*PageSize, (i+1)*PageSize).
//
// # Acknowledgement and durability
//
// Nothing is acknowledged before the server acknowledged it: ReadPage,
// WritePage and Sync return nil only after the server's reply without
// error. WritePage sets NBD_CMD_FLAG_FUA when the export offers it, so a
// page the default pager has written (and vm then considers clean, since
// data_return returned KERN_SUCCESS) is on the server's stable storage;
// an export that offers flush but not FUA gets NBD_CMD_FLUSH after every
// write. This is what lets vm drop a page as clean when data_return
// returns: vm has no separate "written but not yet stable" state, and the
// default pager calls Store.Sync only for synchronize (msync). With
// Config.NoFUA the write alone is acknowledged and the page is stable only
// after the next Sync (Region.Sync in vm, synchronize to the pager); if the
// connection fails in between, the next Sync reports store.ErrIO, since the
// server may have lost those writes: a kernel that wants the guarantee
// without FUA must keep pages until synchronize_completed, which vm does
// not do today.
//
// # Connection loss
//
// A request whose connection fails (a read or write error, a timeout, the
// server closing it, even in the middle of the data) is sent again on a new
// connection. The client redials with exponential backoff (Config
// BackoffMin doubled up to BackoffMax) for at most Config.RetryFor; every
// command it sends is idempotent (a read; a write of the same data to the
// same place; a flush; a trim), so a request the old server may or may not
// have carried out is safe to repeat. The lock of the client is held
// meanwhile, so calls queue rather than fail. When the time runs out the
// call fails with store.ErrIO; the default pager then answers data_error
// for a page-in and refuses a page-out with KERN_FAILURE, and vm keeps such
// a page resident and dirty (pager/nbd's tests check both).
//
// # Bad input from the server
//
// An error reply is a *ServerError, wrapped with store.ErrFull for ENOSPC
// and store.ErrIO otherwise; the connection stays up. A broken reply (bad
// magic, another request's handle, a structured reply, bytes beyond the
// reply) is ErrProtocol wrapped with store.ErrIO: the connection is closed
// and the request is not repeated, since the server is likely to do the
// same again; the next call reconnects. A read's data is returned only
// after the whole reply was checked. Nothing panics on server input, and
// the negotiation decoder is fuzzed (FuzzNegotiate).
//
// # The target
//
// Config.Dial returns any net.Conn: a host program dials TCP, the target
// will give a TCP connection of its network stack. The data path allocates
// nothing (the request buffer is made by New); a reconnection does. The
// client blocks on the network, so it is not store.FaultSafe: the default
// pager's objects over it are called by vm's call workers.
package nbd
