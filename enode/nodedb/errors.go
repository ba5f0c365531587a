package nodedb

import "errors"

var (
	// ErrClosed is returned by writes to a closed DB.
	ErrClosed = errors.New("nodedb: database closed")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("nodedb: database file locked by another process")
	// ErrBacklog is returned by writes while too many earlier writes wait
	// for a commit that keeps failing; the wrapped text names the failure.
	ErrBacklog = errors.New("nodedb: too many uncommitted writes")
	// ErrInvalidIP is returned for an IP that is not a valid address.
	ErrInvalidIP = errors.New("nodedb: invalid IP address")
	// ErrNegativeCount is returned when storing a negative failure count.
	ErrNegativeCount = errors.New("nodedb: negative findnode failure count")
	// ErrNilNode is returned by UpdateNode(nil).
	ErrNilNode = errors.New("nodedb: nil node")
)
