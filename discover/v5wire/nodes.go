package v5wire

import (
	"fmt"

	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

// SplitNodes packs records, the answer to one request, into as few NODES
// messages as possible such that each fits an ordinary message packet
// (MaxMessageSize), and sets their Total. discv5-wire.md "UDP
// Communication": "To stay below the size limit, NODES responses are sent as
// multiple messages and specify the total number of responses in the
// message." An empty answer is one NODES message without records.
//
// The messages share reqID and hold the records themselves, not copies. The
// records must be signed. Errors: ErrReqIDTooLarge, ErrUnencodable for an
// unsigned record, ErrPacketTooBig if the answer needs more than 255
// messages.
//
// The messages are sized for an ordinary message packet, since a request
// is answered within the session it arrived in. Should the session be lost
// before the answer goes out, the answer travels in a handshake packet,
// which has less room: Encode then reports ErrPacketTooBig for a message near
// the limit.
func SplitNodes(reqID []byte, records []*enr.Record) ([]*Nodes, error) {
	if len(reqID) > MaxRequestIDSize {
		return nil, fmt.Errorf("%w: NODES request ID has %d bytes", ErrReqIDTooLarge, len(reqID))
	}
	if _, err := recordsSize(records); err != nil {
		return nil, err
	}
	// Plaintext of a NODES message: message-type, then the list of
	// request-id, total and the record list. Total is reserved at its
	// largest size, two bytes, since it is known only at the end.
	fixed := strSize(reqID) + rlp.IntSize(0xff)
	fits := func(recordBytes int) bool {
		return 1+listSize(fixed+listSize(recordBytes)) <= MaxMessageSize
	}

	var msgs []*Nodes
	for first := true; first || len(records) > 0; first = false {
		n, size := 0, 0
		for n < len(records) && fits(size+records[n].Size()) {
			size += records[n].Size()
			n++
		}
		// A record is at most enr.SizeLimit bytes and always fits alone.
		msgs = append(msgs, &Nodes{ReqID: reqID, Records: records[:n:n]})
		records = records[n:]
	}
	if len(msgs) > 0xff {
		return nil, fmt.Errorf("%w: answer needs %d NODES messages, at most 255", ErrPacketTooBig, len(msgs))
	}
	for _, m := range msgs {
		m.Total = uint8(len(msgs))
	}
	return msgs, nil
}
