package netutil

import (
	"errors"
	"net"
)

// IsTemporaryError reports whether err is a transient condition worth
// retrying, such as an Accept failing because the process ran out of file
// descriptors (EMFILE) or the peer reset a connection still in the queue.
func IsTemporaryError(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// IsTimeout reports whether err is a deadline or timeout error.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
