package p2p

// msgConn is a connection after the encryption handshake: it reads and writes
// whole messages. Package rlpx's Conn is the implementation. ReadMsg's data is
// only valid until the next ReadMsg.
//
// The peer calls ReadMsg from one goroutine and WriteMsg from one at a time.
// Deadlines are set on the underlying net.Conn.
type msgConn interface {
	ReadMsg() (code uint64, data []byte, wireSize int, err error)
	WriteMsg(code uint64, data []byte) (wireSize uint32, err error)
	Close() error
}

// bufferedWriter is a msgConn that can queue frames and send them together,
// so that messages written in a burst share system calls.
type bufferedWriter interface {
	BufferMsg(code uint64, data []byte) (wireSize uint32, err error)
	flusher
}

type flusher interface {
	Flush() error
}

// snappyConn is a msgConn with EIP-706 compression.
type snappyConn interface {
	SetSnappy(bool)
}

// readLimiter is a msgConn that can refuse large messages before reading
// them; the Hello exchange lowers the limit to maxHelloSize.
type readLimiter interface {
	SetReadLimit(n int)
}
