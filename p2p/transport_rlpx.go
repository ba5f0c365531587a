package p2p

import (
	"errors"
	"net"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlpx"
)

// encHandshake runs the RLPx handshake (rlpx.md "Initial Handshake") on fd,
// as initiator towards dest or, with dest nil, as recipient, and returns the
// session and the remote node key. Deadlines are the caller's.
func encHandshake(fd net.Conn, key *crypto.PrivateKey, dest *crypto.PublicKey) (msgConn, *crypto.PublicKey, error) {
	c := rlpx.NewConn(fd, dest)
	remote, err := c.Handshake(key)
	if err != nil {
		return nil, nil, err
	}
	return c, remote, nil
}

// isSizeError reports whether a write failed because the message is too
// large to send, which leaves the connection usable.
func isSizeError(err error) bool {
	return errors.Is(err, rlpx.ErrFrameSize) || errors.Is(err, rlpx.ErrMessageSize)
}
