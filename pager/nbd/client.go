package nbd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tamach/tamach/pager/store"
)

// Config describes a Client.
type Config struct {
	// Dial opens a new connection to the server. It is called for the
	// first connection and for every reconnection; a host program gives
	// a net.Dialer's DialContext, the target a TCP connection of its
	// network stack.
	Dial func(ctx context.Context) (net.Conn, error)
	// Export is the export's name, sent with NBD_OPT_GO ("" is the
	// server's default export).
	Export string
	// PageSize is the slot size; 0 means 4 KiB. The export's size is cut
	// down to whole slots.
	PageSize int
	// Timeout bounds one handshake, one request's round trip, and one
	// dial; 0 means 10 s. A request that times out is a lost connection.
	Timeout time.Duration
	// RetryFor bounds the time one call spends reconnecting and retrying
	// after the connection was lost; 0 means 30 s. Then the call fails.
	RetryFor time.Duration
	// BackoffMin and BackoffMax bound the wait between two connection
	// attempts, doubled after each failure; 0 means 5 ms and 500 ms.
	BackoffMin, BackoffMax time.Duration
	// NoFUA acknowledges a WritePage when the server acknowledged the
	// write, without NBD_CMD_FLAG_FUA: the page is then stable only after
	// the next successful Sync. See the package documentation.
	NoFUA bool
	// Event, if set, is told of every connection event; it is called with
	// the client's lock held and must not call the client.
	Event func(Event)
}

// Event is a change in the client's connection.
type Event uint8

// Connection events.
const (
	EventLost        Event = iota + 1 // the connection failed; the call in progress will be retried
	EventDialFailed                   // an attempt to reconnect failed; the next waits longer
	EventReconnected                  // a new connection was negotiated
)

func (e Event) String() string {
	switch e {
	case EventLost:
		return "lost"
	case EventDialFailed:
		return "dial failed"
	case EventReconnected:
		return "reconnected"
	}
	return "event?"
}

// Stats are a client's counters.
type Stats struct {
	Reads, Writes, Flushes, Trims uint64 // requests acknowledged by the server
	Retries                       uint64 // requests sent again on a new connection
	Lost                          uint64 // connections that failed under a request
	DialFailures                  uint64 // reconnection attempts that failed
	Reconnects                    uint64 // successful reconnections
	ServerErrors                  uint64 // error replies
	ProtocolErrors                uint64 // replies that broke the protocol
}

// Client is an NBD client and a store.Store over one export. It makes one
// request at a time (its mutex is held from the request to its reply, and
// across reconnection), so every reply must answer the one request
// outstanding. Safe for concurrent use.
type Client struct {
	cfg   Config
	ps    int
	pages uint64
	done  chan struct{}

	mu        sync.Mutex
	conn      net.Conn      // protected by mu; nil while disconnected
	r         *bufio.Reader // protected by mu
	ex        export        // protected by mu; the size never changes
	fua       bool          // protected by mu: writes carry NBD_CMD_FLAG_FUA
	flushAll  bool          // protected by mu: no FUA, so each write is followed by a flush
	handle    uint64        // protected by mu
	wbuf      []byte        // protected by mu: request header and a page
	rh        [replyHeader]byte
	unflushed bool // protected by mu: writes acknowledged since the last flush (NoFUA)
	lostWrite bool // protected by mu: a connection failed while unflushed was set
	closed    bool // protected by mu

	reads, writes, flushes, trims, retries, lost, dialFails, reconnects, serverErrs, protoErrs atomic.Uint64
}

var _ store.Store = (*Client)(nil)

// ErrClosed is a call on a closed client.
var ErrClosed = errors.New("nbd: client closed")

// New connects to the server and negotiates the export. The first
// connection is not retried: a refused export (ErrRefused), a protocol
// violation (ErrProtocol) or an unreachable server is reported at once.
func New(cfg Config) (*Client, error) {
	if cfg.PageSize == 0 {
		cfg.PageSize = 4 << 10
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = 30 * time.Second
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = 5 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 500 * time.Millisecond
	}
	if cfg.Dial == nil || cfg.PageSize < 512 || cfg.PageSize&(cfg.PageSize-1) != 0 || cfg.BackoffMax < cfg.BackoffMin {
		return nil, fmt.Errorf("nbd: bad configuration")
	}
	c := &Client{cfg: cfg, ps: cfg.PageSize, done: make(chan struct{}),
		wbuf: make([]byte, requestHeader+cfg.PageSize)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.connectLocked(); err != nil {
		return nil, err
	}
	c.pages = c.ex.size / uint64(c.ps)
	return c, nil
}

// connectLocked dials and negotiates once. Preconditions: c.mu is held.
func (c *Client) connectLocked() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	conn, err := c.cfg.Dial(ctx)
	if err != nil {
		return fmt.Errorf("nbd: dial: %w", err)
	}
	conn.SetDeadline(time.Now().Add(c.cfg.Timeout))
	ex, err := negotiate(conn, c.cfg.Export)
	if err == nil {
		err = c.checkExport(ex)
	}
	if err != nil {
		conn.Close()
		return err
	}
	conn.SetDeadline(time.Time{})
	c.conn, c.r, c.ex = conn, bufio.NewReaderSize(conn, 2*c.ps+replyHeader), ex
	c.fua = ex.flags&tfSendFUA != 0 && !c.cfg.NoFUA
	c.flushAll = !c.fua && ex.flags&tfSendFlush != 0 && !c.cfg.NoFUA
	return nil
}

// checkExport refuses an export the client cannot use, and one that
// changed under a reconnection.
func (c *Client) checkExport(ex export) error {
	switch {
	case ex.flags&tfHasFlags == 0:
		return fmt.Errorf("%w: transmission flags without NBD_FLAG_HAS_FLAGS", ErrProtocol)
	case ex.flags&tfReadOnly != 0:
		return fmt.Errorf("%w: export %q is read-only", ErrRefused, c.cfg.Export)
	case ex.maxBlock != 0 && uint32(c.ps) > ex.maxBlock,
		ex.minBlock != 0 && uint32(c.ps)%ex.minBlock != 0:
		return fmt.Errorf("%w: export %q takes blocks of %d to %d bytes, not %d", ErrRefused,
			c.cfg.Export, ex.minBlock, ex.maxBlock, c.ps)
	case c.pages != 0 && ex.size/uint64(c.ps) != c.pages:
		return fmt.Errorf("%w: export %q changed size to %d bytes", ErrProtocol, c.cfg.Export, ex.size)
	case ex.size < uint64(c.ps):
		return fmt.Errorf("%w: export %q of %d bytes holds no page", ErrRefused, c.cfg.Export, ex.size)
	}
	return nil
}

// dropLocked closes the connection after a failure. Preconditions: c.mu
// is held.
func (c *Client) dropLocked() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.r = nil, nil
		if c.unflushed {
			c.lostWrite = true
		}
	}
}

func (c *Client) event(e Event) {
	if c.cfg.Event != nil {
		c.cfg.Event(e)
	}
}

// PageSize implements store.Store.
func (c *Client) PageSize() int { return c.ps }

// Pages implements store.Store.
func (c *Client) Pages() uint64 { return c.pages }

// Size is the export's size in bytes.
func (c *Client) Size() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ex.size
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{Reads: c.reads.Load(), Writes: c.writes.Load(), Flushes: c.flushes.Load(), Trims: c.trims.Load(),
		Retries: c.retries.Load(), Lost: c.lost.Load(), DialFailures: c.dialFails.Load(),
		Reconnects: c.reconnects.Load(), ServerErrors: c.serverErrs.Load(), ProtocolErrors: c.protoErrs.Load()}
}

func (c *Client) check(slot uint64, p []byte) error {
	if slot >= c.pages || len(p) != c.ps {
		return store.ErrRange
	}
	return nil
}

// ReadPage implements store.Store with NBD_CMD_READ.
func (c *Client) ReadPage(slot uint64, p []byte) error {
	if err := c.check(slot, p); err != nil {
		return err
	}
	if err := c.do(cmdRead, 0, slot*uint64(c.ps), p, uint32(len(p))); err != nil {
		return err
	}
	c.reads.Add(1)
	return nil
}

// WritePage implements store.Store with NBD_CMD_WRITE; it returns once the
// server acknowledged the write, with NBD_CMD_FLAG_FUA when the export
// offers it (the write is then stable), or followed by NBD_CMD_FLUSH when
// it offers only flush. With Config.NoFUA the write alone.
func (c *Client) WritePage(slot uint64, p []byte) error {
	if err := c.check(slot, p); err != nil {
		return err
	}
	if err := c.do(cmdWrite, 0, slot*uint64(c.ps), p, uint32(len(p))); err != nil {
		return err
	}
	c.writes.Add(1)
	return nil
}

// Sync implements store.Store with NBD_CMD_FLUSH (nothing when the export
// offers no flush). It fails with store.ErrIO if a connection was lost
// since the last flush while writes acknowledged without FUA were
// outstanding: the server may have lost them.
func (c *Client) Sync() error {
	if err := c.do(cmdFlush, 0, 0, nil, 0); err != nil {
		return err
	}
	c.flushes.Add(1)
	return nil
}

// Trim tells the server that n slots from slot hold nothing worth keeping
// (NBD_CMD_TRIM); a no-op when the export does not offer it.
func (c *Client) Trim(slot, n uint64) error {
	if slot >= c.pages || n > c.pages-slot || n*uint64(c.ps) > 1<<31 {
		return store.ErrRange
	}
	if n == 0 {
		return nil
	}
	if err := c.do(cmdTrim, 0, slot*uint64(c.ps), nil, uint32(n*uint64(c.ps))); err != nil {
		return err
	}
	c.trims.Add(1)
	return nil
}

// Close sends NBD_CMD_DISC and closes the connection. Calls waiting to
// reconnect fail with ErrClosed.
func (c *Client) Close() error {
	select {
	case <-c.done:
		return nil
	default:
		close(c.done)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn == nil {
		return nil
	}
	c.handle++
	putRequest(c.wbuf, 0, cmdDisc, c.handle, 0, 0)
	c.conn.SetDeadline(time.Now().Add(c.cfg.Timeout))
	_, err := c.conn.Write(c.wbuf[:requestHeader])
	c.conn.Close()
	c.conn, c.r = nil, nil
	return err
}

// do makes one request, reconnecting and retrying it while the connection
// fails, for at most Config.RetryFor. Every command used is idempotent: a
// read, a write of the same data at the same place, a flush, a trim.
func (c *Client) do(cmd uint16, flags uint16, offset uint64, p []byte, length uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if cmd == cmdFlush {
		if c.ex.flags&tfSendFlush == 0 {
			return nil
		}
		if c.lostWrite {
			// Report it once: the writes are gone or not, and the
			// kernel's copies are clean by now either way.
			c.lostWrite = false
			c.unflushed = false
			return fmt.Errorf("%w: nbd: the connection failed while writes were not flushed; the server may have lost them", store.ErrIO)
		}
	}
	if cmd == cmdTrim && c.ex.flags&tfSendTrim == 0 {
		return nil
	}
	if cmd == cmdWrite && c.fua {
		flags |= cmdFlagFUA
	}
	var deadline time.Time
	backoff := c.cfg.BackoffMin
	for attempt := 0; ; attempt++ {
		if c.conn == nil {
			if deadline.IsZero() {
				deadline = time.Now().Add(c.cfg.RetryFor)
			}
			if err := c.reconnectLocked(deadline, &backoff); err != nil {
				return err
			}
		}
		if attempt > 0 {
			c.retries.Add(1)
		}
		err := c.roundTripLocked(cmd, flags, offset, p, length)
		if err == nil && cmd == cmdWrite && c.flushAll {
			err = c.roundTripLocked(cmdFlush, 0, 0, nil, 0)
		}
		if err == nil {
			if cmd == cmdWrite && !c.fua && !c.flushAll {
				c.unflushed = true
			}
			if cmd == cmdFlush {
				c.unflushed = false
			}
			return nil
		}
		var se *ServerError
		switch {
		case errors.As(err, &se):
			c.serverErrs.Add(1)
			if se.Errno == 28 {
				return fmt.Errorf("%w: %w", store.ErrFull, err)
			}
			return fmt.Errorf("%w: %w", store.ErrIO, err)
		case errors.Is(err, ErrProtocol):
			c.protoErrs.Add(1)
			c.dropLocked()
			return fmt.Errorf("%w: %w", store.ErrIO, err)
		}
		// The connection failed: drop it and try again on a new one.
		c.lost.Add(1)
		c.dropLocked()
		c.event(EventLost)
		if deadline.IsZero() {
			deadline = time.Now().Add(c.cfg.RetryFor)
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w: nbd: %s failed and the retries ran out: %w", store.ErrIO, cmdName(cmd), err)
		}
	}
}

// reconnectLocked dials until a connection is negotiated, waiting backoff
// between attempts (doubled each time, up to BackoffMax), until deadline.
// Preconditions: c.mu is held; it is held during the waits too, so other
// calls queue behind this one.
func (c *Client) reconnectLocked(deadline time.Time, backoff *time.Duration) error {
	for {
		err := c.connectLocked()
		if err == nil {
			c.reconnects.Add(1)
			c.event(EventReconnected)
			*backoff = c.cfg.BackoffMin
			return nil
		}
		c.dialFails.Add(1)
		c.event(EventDialFailed)
		if errors.Is(err, ErrRefused) || errors.Is(err, ErrProtocol) {
			return fmt.Errorf("%w: nbd: reconnecting: %w", store.ErrIO, err)
		}
		wait := min(*backoff, time.Until(deadline))
		if wait <= 0 {
			return fmt.Errorf("%w: nbd: server unreachable for %v: %w", store.ErrIO, c.cfg.RetryFor, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return ErrClosed
		}
		*backoff = min(2**backoff, c.cfg.BackoffMax)
	}
}

// roundTripLocked sends one request and reads its simple reply. p is the
// data of a write, the buffer of a read (length bytes), nil otherwise.
// Preconditions: c.mu is held, c.conn is not nil.
func (c *Client) roundTripLocked(cmd, flags uint16, offset uint64, p []byte, length uint32) error {
	c.handle++
	h := c.handle
	putRequest(c.wbuf, flags, cmd, h, offset, length)
	msg := c.wbuf[:requestHeader]
	if cmd == cmdWrite {
		msg = c.wbuf[:requestHeader+copy(c.wbuf[requestHeader:], p)]
	}
	c.conn.SetDeadline(time.Now().Add(c.cfg.Timeout))
	if _, err := c.conn.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(c.r, c.rh[:]); err != nil {
		return err
	}
	errno, err := parseReply(c.rh[:], h)
	if err != nil {
		return err
	}
	if errno != 0 {
		if c.r.Buffered() > 0 {
			return fmt.Errorf("%w: %d bytes after an error reply to %s", ErrProtocol, c.r.Buffered(), cmdName(cmd))
		}
		return &ServerError{Cmd: cmd, Errno: errno}
	}
	if cmd == cmdRead {
		if _, err := io.ReadFull(c.r, p); err != nil {
			return err
		}
	}
	// One request is outstanding, so the reply is all the server may
	// have sent: anything more is data nobody asked for.
	if n := c.r.Buffered(); n > 0 {
		return fmt.Errorf("%w: %d bytes beyond the reply to %s of %d bytes", ErrProtocol, n, cmdName(cmd), length)
	}
	return nil
}
