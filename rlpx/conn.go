package rlpx

import (
	crand "crypto/rand"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/internal/ec"
	"github.com/trellis-p2p/trellis/rlp"
)

const (
	// writeBufferSize is how many bytes BufferMsg collects before it
	// writes them out by itself.
	writeBufferSize = 64 << 10
	// writeChunk: frames longer than this are encrypted and written in
	// pieces of this size, so sending a 16 MiB message does not need a
	// 16 MiB buffer (without snappy; compression needs the whole output).
	writeChunk = 64 << 10
	// handshakeBufferSize is the receive buffer during the handshake, large
	// enough for a typical auth or ack packet.
	handshakeBufferSize = 1 << 10
)

// Conn is an RLPx connection over a net.Conn. Call Handshake (or
// InitWithSecrets) first; after that one goroutine may read (ReadMsg) while
// another writes (WriteMsg, BufferMsg, Flush). ReadMsg must not be called
// from two goroutines at once, and neither may the write methods; Close
// and the deadline setters may be called from any goroutine.
//
// A failed read or write that leaves a frame half-processed makes the
// failure sticky: the ciphers and MACs no longer match the peer, so every
// later call in that direction returns the same error.
type Conn struct {
	conn     net.Conn
	dialDest *crypto.PublicKey
	ready    bool // session keys installed; set before reads and writes start
	snappy   atomic.Bool

	// Read side, owned by the goroutine calling ReadMsg. The two sides are
	// not padded apart onto separate cache lines: the ciphers and MACs
	// between their hot fields span several lines already, and the padding
	// would cost every connection, idle ones included, 128 bytes.
	rd struct {
		fr    frameReader
		buf   readBuffer
		dbuf  []byte   // snappy output
		tiny  [16]byte // snappy output up to 16 bytes; fits Conn's size class
		limit int
		err   error
	}

	// Write side, owned by the goroutine calling the write methods.
	wr struct {
		fw   frameWriter
		buf  []byte // wire bytes not yet written
		sbuf []byte // snappy output
		err  error
	}
}

// NewConn wraps conn. With a non-nil dialDest the handshake runs as
// initiator towards that key; with nil, as recipient.
func NewConn(conn net.Conn, dialDest *crypto.PublicKey) *Conn {
	c := &Conn{conn: conn, dialDest: dialDest}
	c.rd.buf.min = handshakeBufferSize
	c.rd.limit = MaxMessageSize
	return c
}

// Handshake runs the encrypted handshake with the node key prv and returns
// the remote node's public key. It reads and writes under the deadlines set
// on the Conn (go-ethereum's p2p package allows 5 s).
func (c *Conn) Handshake(prv *crypto.PrivateKey) (*crypto.PublicKey, error) {
	if c.ready {
		return nil, ErrSessionExists
	}
	if prv == nil || prv.Key.IsZero() {
		return nil, crypto.ErrInvalidPrivateKey
	}
	h := handshake{rand: crand.Reader, local: prv}
	var (
		auth, ack []byte
		err       error
	)
	if c.dialDest != nil {
		remote, ok := ec.FromPublicKey(c.dialDest)
		if !ok {
			return nil, ErrHandshakeRemote
		}
		h.remote = &remote
		auth, ack, err = h.runInitiator(c.conn, c.conn, &c.rd.buf)
	} else {
		auth, ack, err = h.runRecipient(c.conn, c.conn, &c.rd.buf)
	}
	if err != nil {
		return nil, err
	}
	var keys sessionKeys
	h.keys(auth, ack, &keys)
	err = installSession(&keys.aes, &keys.mac, &keys.egress, nil, &keys.ingress, nil, &c.rd.fr, &c.wr.fw)
	clear(keys.aes[:])
	clear(keys.mac[:])
	if err != nil {
		return nil, err
	}
	c.rd.buf.min = readAheadSize
	c.ready = true
	return h.remote.PublicKey(), nil
}

// InitWithSecrets installs session secrets as if a handshake had agreed on
// them. It exists for tests and tools.
func (c *Conn) InitWithSecrets(sec Secrets) error {
	if c.ready {
		return ErrSessionExists
	}
	if err := sessionFromSecrets(&sec, &c.rd.fr, &c.wr.fw); err != nil {
		return err
	}
	c.rd.buf.min = readAheadSize
	c.ready = true
	return nil
}

// SetSnappy turns snappy compression of message payloads on or off, in
// both directions. p2p turns it on after a Hello announcing version 5 or
// later (EIP-706). Call it between messages, not during a read or write.
func (c *Conn) SetSnappy(enabled bool) { c.snappy.Store(enabled) }

// SetReadLimit lowers the largest message ReadMsg accepts: frames
// announcing more than n bytes and snappy payloads decoding to more than
// n bytes fail with a SizeError. n outside (0, MaxMessageSize] restores the
// default, MaxMessageSize. Call it from the reading goroutine.
func (c *Conn) SetReadLimit(n int) {
	if n <= 0 || n > MaxMessageSize {
		n = MaxMessageSize
	}
	c.rd.limit = n
}

// ReadMsg reads one message. data is valid until the next ReadMsg call.
// wireSize is the payload size as received (before decompression).
func (c *Conn) ReadMsg() (code uint64, data []byte, wireSize int, err error) {
	if c.rd.err != nil {
		return 0, nil, 0, c.rd.err
	}
	if !c.ready {
		return 0, nil, 0, ErrNoSession
	}
	rd := &c.rd
	// The previous message's data is dead now: buffers that grew for it
	// go, and when nothing is buffered the read buffer goes back to the
	// pool for the (possibly long) wait for the next frame.
	rd.buf.shrink()
	if rd.buf.r == rd.buf.w {
		rd.buf.release()
		putScratch(rd.dbuf)
		rd.dbuf = nil
	} else if cap(rd.dbuf) > maxRetainedBuffer {
		rd.dbuf = nil
	}

	// Read ahead no further than the largest frame the limit lets in: a
	// connection reading a Hello (at most 2 KiB) needs no 64 KiB buffer,
	// which would be one more allocation per connection set-up.
	limit := c.frameLimit()
	rd.buf.min = min(readAheadSize, frameWireLen(limit))

	// An error while waiting for a header has consumed nothing, so the
	// caller may retry (after a timeout, say). Past this point it cannot.
	if err := rd.buf.fill(c.conn, headerLen+macLen); err != nil {
		return 0, nil, 0, err
	}
	fsize, err := rd.fr.openHeader(rd.buf.next(headerLen + macLen))
	if err != nil {
		return 0, nil, 0, c.readFailed(err)
	}
	if fsize == 0 || fsize > limit {
		return 0, nil, 0, c.readFailed(&SizeError{Err: ErrFrameSize, What: "frame-size", Size: uint64(fsize), Limit: uint64(limit)})
	}
	bodyLen := paddedLen(fsize) + macLen
	if err := rd.buf.fill(c.conn, bodyLen); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, 0, c.readFailed(err)
	}
	frame, err := rd.fr.openBody(rd.buf.next(bodyLen), fsize)
	if err != nil {
		return 0, nil, 0, c.readFailed(err)
	}

	// The frame is authentic and consumed; the errors below are the peer's
	// protocol errors and leave the connection in sync.
	code, data, err = rlp.SplitUint64(frame)
	if err != nil {
		return 0, nil, 0, errors.Join(ErrMessageCode, err)
	}
	wireSize = len(data)
	if c.snappy.Load() {
		if data, err = c.decompress(data); err != nil {
			return code, nil, wireSize, err
		}
	}
	return code, data, wireSize, nil
}

// frameLimit is the largest frame-size ReadMsg accepts: the message code
// (at most 9 bytes) plus a payload of the read limit, or of its worst-case
// snappy encoding.
func (c *Conn) frameLimit() int {
	payload := c.rd.limit
	if c.snappy.Load() {
		payload = snappy.MaxEncodedLen(payload)
	}
	return min(9+payload, MaxFrameSize)
}

func (c *Conn) readFailed(err error) error {
	c.rd.err = err
	return err
}

// decompress inflates a snappy block after checking the decoded length it
// announces (EIP-706 "Avoiding DOS attacks").
func (c *Conn) decompress(p []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(p)
	if err != nil {
		return nil, errors.Join(ErrSnappy, err)
	}
	if n > c.rd.limit {
		return nil, &SizeError{Err: ErrMessageSize, What: "snappy decoded length", Size: uint64(n), Limit: uint64(c.rd.limit)}
	}
	dst := c.rd.dbuf
	if n <= len(c.rd.tiny) {
		// Ping, Pong and Disconnect need no buffer from the pool, which
		// allocates 64 KiB when empty and never gets a buffer back from
		// the Disconnect that ends a connection.
		dst = c.rd.tiny[:]
	} else if cap(dst) < n {
		putScratch(c.rd.dbuf)
		c.rd.dbuf = getScratch(n)
		dst = c.rd.dbuf
	}
	out, err := snappy.Decode(dst[:cap(dst)], p)
	if err != nil {
		return nil, errors.Join(ErrSnappy, err)
	}
	return out, nil
}

// WriteMsg sends one message: it frames it, then writes it together with
// any messages queued by BufferMsg. It returns the payload size on the wire
// (after compression).
func (c *Conn) WriteMsg(code uint64, data []byte) (wireSize uint32, err error) {
	wireSize, err = c.BufferMsg(code, data)
	if err != nil {
		return wireSize, err
	}
	return wireSize, c.Flush()
}

// BufferMsg frames a message into the write buffer without writing it, so
// that several messages can leave in one system call: queue messages with
// BufferMsg and call Flush when there is nothing more to send right away.
// data may be reused as soon as BufferMsg returns. When the buffer holds
// more than 64 KiB, BufferMsg writes it out itself, so it can block and
// return write errors like WriteMsg.
func (c *Conn) BufferMsg(code uint64, data []byte) (wireSize uint32, err error) {
	wr := &c.wr
	if wr.err != nil {
		return 0, wr.err
	}
	if !c.ready {
		return 0, ErrNoSession
	}
	payload := data
	if c.snappy.Load() {
		if len(data) > MaxMessageSize {
			return 0, &SizeError{Err: ErrMessageSize, What: "message size", Size: uint64(len(data)), Limit: MaxMessageSize}
		}
		if n := snappy.MaxEncodedLen(len(data)); cap(wr.sbuf) < n {
			wr.sbuf = getScratch(n)
		}
		payload = snappy.Encode(wr.sbuf[:cap(wr.sbuf)], data)
	}
	fsize := rlp.IntSize(code) + len(payload)
	if fsize > MaxFrameSize {
		return 0, &SizeError{Err: ErrFrameSize, What: "frame-size", Size: uint64(fsize), Limit: MaxFrameSize}
	}
	wireSize = uint32(len(payload))

	fw := &wr.fw
	if wr.buf == nil {
		wr.buf = getScratch(writeBufferCap)
	}
	if fsize <= writeChunk {
		wr.buf = fw.appendStart(wr.buf, fsize, code)
		wr.buf = fw.appendData(wr.buf, payload)
		wr.buf = fw.appendEnd(wr.buf, fsize)
	} else {
		// A large frame streams through the buffer; the MAC and cipher
		// do not care where the pieces are cut.
		wr.buf = fw.appendStart(wr.buf, fsize, code)
		for len(payload) > 0 {
			if len(wr.buf) >= writeBufferSize {
				if err := c.flush(); err != nil {
					return wireSize, err
				}
			}
			n := min(len(payload), writeBufferSize-len(wr.buf))
			wr.buf = fw.appendData(wr.buf, payload[:n])
			payload = payload[n:]
		}
		wr.buf = fw.appendEnd(wr.buf, fsize)
	}
	// The snappy output is dead once framed.
	putScratch(wr.sbuf)
	wr.sbuf = nil
	if len(wr.buf) >= writeBufferSize {
		return wireSize, c.Flush()
	}
	return wireSize, nil
}

// Flush writes the messages queued by BufferMsg.
func (c *Conn) Flush() error {
	if err := c.flush(); err != nil {
		return err
	}
	// An idle connection should not keep a large write buffer: it goes
	// back to the pool, and the next message takes one from there.
	if wr := &c.wr; cap(wr.buf) > idleWriteBuffer {
		putScratch(wr.buf)
		wr.buf = nil
	}
	return nil
}

// flush is Flush keeping the buffer, for BufferMsg's writes in the middle
// of a frame.
func (c *Conn) flush() error {
	wr := &c.wr
	if wr.err != nil {
		return wr.err
	}
	if len(wr.buf) == 0 {
		return nil
	}
	// A partial write would desynchronise the stream, so any error is
	// final; net.Conn.Write only returns early with an error.
	if _, err := c.conn.Write(wr.buf); err != nil {
		wr.err = err
		return err
	}
	wr.buf = wr.buf[:0]
	return nil
}

// Buffered returns the number of wire bytes queued by BufferMsg.
func (c *Conn) Buffered() int { return len(c.wr.buf) }

// SetReadDeadline sets the deadline for reads, including the handshake's.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline for writes, including the handshake's.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// Close closes the underlying connection, which also unblocks a pending
// ReadMsg or write.
func (c *Conn) Close() error { return c.conn.Close() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }
