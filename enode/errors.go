package enode

import "errors"

// Errors returned by this package. Failures wrap one of them (or an enr
// error, for records) with context, so callers test with errors.Is.
var (
	// ErrInvalidID: a node ID in hex is malformed or not 32 bytes.
	ErrInvalidID = errors.New("enode: invalid node ID")
	// ErrInvalidNodeAddr: an identity scheme derived a node address that is
	// not 32 bytes long (or none at all).
	ErrInvalidNodeAddr = errors.New("enode: identity scheme gave no valid node address")

	// ErrUnknownFormat: Parse got neither an enode:// URL nor an enr: record.
	ErrUnknownFormat = errors.New(`enode: not an "enode://" URL or "enr:" record`)
	// ErrInvalidURL: the enode URL does not parse as a URL, or has parts an
	// enode URL cannot have (password, path, fragment, bad query).
	ErrInvalidURL = errors.New("enode: invalid URL")
	// ErrInvalidScheme: the URL scheme is not "enode".
	ErrInvalidScheme = errors.New(`enode: URL scheme is not "enode"`)
	// ErrMissingNodeID: the URL has a host but no "<node ID>@" part.
	ErrMissingNodeID = errors.New("enode: URL has no node ID")
	// ErrInvalidHex: the node ID in the URL is not hexadecimal.
	ErrInvalidHex = errors.New("enode: node ID is not hex")
	// ErrInvalidKeyLength: the node ID in the URL is not 64 bytes (128 hex
	// characters).
	ErrInvalidKeyLength = errors.New("enode: node ID is not 128 hex characters")
	// ErrInvalidPubkey: the node ID in the URL is not a point on secp256k1.
	ErrInvalidPubkey = errors.New("enode: node ID is not a valid public key")
	// ErrMissingHost: the URL has an empty host.
	ErrMissingHost = errors.New("enode: URL has no host")
	// ErrInvalidHost: the host is neither an IP address nor a DNS name.
	ErrInvalidHost = errors.New("enode: invalid host")
	// ErrInvalidPort: the TCP port or discport is missing, not a number below
	// 65536, or both are zero.
	ErrInvalidPort = errors.New("enode: invalid port")

	// ErrMissingIP, ErrInvalidIP and ErrMissingUDP are returned by
	// ValidateComplete.
	ErrMissingIP  = errors.New("enode: node has no IP address")
	ErrInvalidIP  = errors.New("enode: node IP is unspecified")
	ErrMissingUDP = errors.New("enode: node has no UDP port")
)
