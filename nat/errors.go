package nat

import (
	"errors"
	"fmt"
	"time"
)

// Errors of this package. Failures wrap one of them or are one of the error
// types below; test with errors.Is and errors.As.
var (
	// ErrBadRequest: the caller's arguments are invalid (protocol, port).
	ErrBadRequest = errors.New("nat: invalid request")
	// ErrNoResponse: the gateway did not answer in time, or nothing listens
	// on its port. When the context ended the wait, its error is wrapped
	// too (errors.Is(err, context.DeadlineExceeded)).
	ErrNoResponse = errors.New("nat: no response from gateway")
	// ErrNoGateway: no gateway to ask: no default route, or discovery found
	// nothing that answers.
	ErrNoGateway = errors.New("nat: no gateway found")
	// ErrNoExternalIP: the gateway has not told its external address, or
	// told a useless one (0.0.0.0).
	ErrNoExternalIP = errors.New("nat: external address unknown")
	// ErrMalformedResponse: a response breaks its protocol. The more
	// specific errors below wrap it.
	ErrMalformedResponse = errors.New("nat: malformed response")
)

// malformed is a kind of protocol violation. Each is also ErrMalformedResponse.
type malformed string

func (m malformed) Error() string      { return string(m) }
func (malformed) Is(target error) bool { return target == ErrMalformedResponse }

// Kinds of malformed responses.
var (
	ErrTruncated      error = malformed("nat: response truncated")
	ErrBadLength      error = malformed("nat: response length invalid")
	ErrNotResponse    error = malformed("nat: packet is a request, not a response")
	ErrOpcodeMismatch error = malformed("nat: response to another opcode")
	ErrFieldMismatch  error = malformed("nat: response does not match the request")
	ErrBadOption      error = malformed("nat: malformed option")
	ErrBadValue       error = malformed("nat: invalid value in response")
	ErrTooLarge       error = malformed("nat: response exceeds size limit")
)

// VersionError is a response with another protocol version than the one
// asked: a NAT-PMP-only gateway answering a PCP request with version 0, or
// a PCP-only one answering NAT-PMP with version 2.
type VersionError struct {
	Proto string // "NAT-PMP" or "PCP"
	Want  uint8
	Got   uint8
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("nat: %s: gateway answered with version %d, want %d", e.Proto, e.Got, e.Want)
}

// PMPResultCode is a NAT-PMP result code (RFC 6886 section 3.5).
type PMPResultCode uint16

// NAT-PMP result codes.
const (
	PMPSuccess            PMPResultCode = 0
	PMPUnsupportedVersion PMPResultCode = 1
	PMPNotAuthorized      PMPResultCode = 2 // refused, e.g. NAT-PMP disabled by the user
	PMPNetworkFailure     PMPResultCode = 3 // e.g. no external address yet
	PMPOutOfResources     PMPResultCode = 4
	PMPUnsupportedOpcode  PMPResultCode = 5
)

var pmpResultNames = [...]string{"success", "unsupported version", "not authorized/refused", "network failure", "out of resources", "unsupported opcode"}

func (c PMPResultCode) String() string {
	if int(c) < len(pmpResultNames) {
		return pmpResultNames[c]
	}
	return fmt.Sprintf("result code %d", uint16(c))
}

// PMPError is a NAT-PMP response with a non-zero result code.
type PMPError struct {
	Op   uint8 // the request's opcode
	Code PMPResultCode
}

func (e *PMPError) Error() string {
	return fmt.Sprintf("nat: NAT-PMP opcode %d refused: %v (%d)", e.Op, e.Code, uint16(e.Code))
}

// PCPResultCode is a PCP result code (RFC 6887 section 7.4).
type PCPResultCode uint8

// PCP result codes.
const (
	PCPSuccess               PCPResultCode = 0
	PCPUnsuppVersion         PCPResultCode = 1
	PCPNotAuthorized         PCPResultCode = 2
	PCPMalformedRequest      PCPResultCode = 3
	PCPUnsuppOpcode          PCPResultCode = 4
	PCPUnsuppOption          PCPResultCode = 5
	PCPMalformedOption       PCPResultCode = 6
	PCPNetworkFailure        PCPResultCode = 7
	PCPNoResources           PCPResultCode = 8
	PCPUnsuppProtocol        PCPResultCode = 9
	PCPUserExQuota           PCPResultCode = 10
	PCPCannotProvideExternal PCPResultCode = 11
	PCPAddressMismatch       PCPResultCode = 12
	PCPExcessiveRemotePeers  PCPResultCode = 13
)

var pcpResultNames = [...]string{
	"SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST", "UNSUPP_OPCODE",
	"UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE", "NO_RESOURCES", "UNSUPP_PROTOCOL",
	"USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL", "ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
}

func (c PCPResultCode) String() string {
	if int(c) < len(pcpResultNames) {
		return pcpResultNames[c]
	}
	return fmt.Sprintf("RESULT_%d", uint8(c))
}

// PCPError is a PCP response with a non-zero result code.
type PCPError struct {
	Op   uint8
	Code PCPResultCode
	// Lifetime is how long the gateway expects the error to last (RFC 6887
	// section 7.2: short-lived errors have a short lifetime).
	Lifetime time.Duration
}

func (e *PCPError) Error() string {
	return fmt.Sprintf("nat: PCP opcode %d refused: %v (%d), for %v", e.Op, e.Code, uint8(e.Code), e.Lifetime)
}

// UPnP error codes a port mapper meets (UPnP IGD WANIPConnection:2 service
// specification, section 2.4, and UPnP Device Architecture 1.1, 3.2.2).
const (
	UPnPInvalidAction                    = 401
	UPnPInvalidArgs                      = 402
	UPnPActionFailed                     = 501
	UPnPActionNotAuthorized              = 606
	UPnPWildCardNotPermittedInSrcIP      = 715
	UPnPWildCardNotPermittedInExtPort    = 716
	UPnPNoSuchEntryInArray               = 714
	UPnPConflictInMappingEntry           = 718
	UPnPSamePortValuesRequired           = 724
	UPnPOnlyPermanentLeasesSupported     = 725
	UPnPRemoteHostOnlySupportsWildcard   = 726
	UPnPExternalPortOnlySupportsWildcard = 727
	UPnPNoPortMapsAvailable              = 728
	UPnPConflictWithOtherMechanisms      = 729
)

// UPnPError is a SOAP fault from a UPnP gateway.
type UPnPError struct {
	Action      string // the SOAP action, e.g. "AddPortMapping"
	Code        int    // UPnPError errorCode; 0 if the fault had none
	Description string
}

func (e *UPnPError) Error() string {
	return fmt.Sprintf("nat: UPnP %s failed: error %d %q", e.Action, e.Code, e.Description)
}

// upnpCode returns the UPnP error code in err, or 0.
func upnpCode(err error) int {
	var ue *UPnPError
	if errors.As(err, &ue) {
		return ue.Code
	}
	return 0
}
