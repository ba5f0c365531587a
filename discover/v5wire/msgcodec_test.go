package v5wire

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

// testRecords returns n signed records of distinct keys.
func testRecords(tb testing.TB, n int) []*enr.Record {
	tb.Helper()
	recs := make([]*enr.Record, n)
	for i := range recs {
		node := signedNode(tb, newKey(tb), uint64(i+1),
			enr.IPv4(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})), enr.UDP(30303), enr.TCP(30303))
		recs[i] = node.Record()
	}
	return recs
}

// genericEncoding encodes the message with the reflection-based rlp encoder,
// as an independent check of AppendMessage's hand-written encoding.
func genericEncoding(tb testing.TB, p Packet) []byte {
	tb.Helper()
	var list []any
	switch p := p.(type) {
	case *Ping:
		list = []any{p.ReqID, p.ENRSeq}
	case *Pong:
		list = []any{p.ReqID, p.ENRSeq, p.ToIP.Unmap().AsSlice(), uint64(p.ToPort)}
	case *Findnode:
		d := make([]uint64, len(p.Distances))
		for i, x := range p.Distances {
			d[i] = uint64(x)
		}
		list = []any{p.ReqID, d}
	case *Nodes:
		raws := make([]rlp.RawValue, len(p.Records))
		for i, r := range p.Records {
			b, err := r.MarshalBinary()
			if err != nil {
				tb.Fatal(err)
			}
			raws[i] = b
		}
		list = []any{p.ReqID, uint64(p.Total), raws}
	case *TalkRequest:
		list = []any{p.ReqID, []byte(p.Protocol), p.Message}
	case *TalkResponse:
		list = []any{p.ReqID, p.Message}
	default:
		tb.Fatalf("no generic encoding for %T", p)
	}
	b, err := rlp.EncodeToBytes(list)
	if err != nil {
		tb.Fatal(err)
	}
	return append([]byte{p.Kind()}, b...)
}

func roundTripMessages(tb testing.TB) []Packet {
	recs := testRecords(tb, 3)
	id8 := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	return []Packet{
		&Ping{ReqID: []byte{1}, ENRSeq: 0},
		&Ping{ReqID: id8, ENRSeq: ^uint64(0)},
		&Ping{ENRSeq: 127},
		&Pong{ReqID: []byte{0x80}, ENRSeq: 5, ToIP: netip.MustParseAddr("203.0.113.9"), ToPort: 30303},
		&Pong{ReqID: id8, ENRSeq: 1 << 40, ToIP: netip.MustParseAddr("2001:db8::1"), ToPort: 65535},
		&Pong{ReqID: []byte{7}, ToIP: netip.MustParseAddr("::1"), ToPort: 0},
		&Findnode{ReqID: []byte{1, 2}, Distances: []uint{256, 255, 254}},
		&Findnode{ReqID: []byte{1, 2}, Distances: []uint{0}},
		&Findnode{ReqID: []byte{1, 2}},
		&Nodes{ReqID: []byte{9}, Total: 1},
		&Nodes{ReqID: id8, Total: 255, Records: recs},
		&TalkRequest{ReqID: []byte{3}, Protocol: "portal", Message: bytes.Repeat([]byte{0xaa}, 900)},
		&TalkRequest{ReqID: []byte{3}, Protocol: "x"},
		&TalkResponse{ReqID: []byte{3}, Message: []byte("pong")},
		&TalkResponse{ReqID: []byte{3}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, p := range roundTripMessages(t) {
		enc, err := AppendMessage(nil, p)
		if err != nil {
			t.Fatalf("%s: encode: %v", p.Name(), err)
		}
		if want := genericEncoding(t, p); !bytes.Equal(enc, want) {
			t.Errorf("%s: encoding\n got %x\nwant %x", p.Name(), enc, want)
		}
		dec, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("%s: decode %x: %v", p.Name(), enc, err)
		}
		// Records compare by encoding; everything else structurally.
		if n, ok := p.(*Nodes); ok {
			checkNodesEqual(t, dec.(*Nodes), n)
			continue
		}
		if !reflect.DeepEqual(dec, p) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v", p.Name(), dec, p)
		}
	}
}

func checkNodesEqual(t *testing.T, got, want *Nodes) {
	t.Helper()
	if !bytes.Equal(got.ReqID, want.ReqID) || got.Total != want.Total || len(got.Records) != len(want.Records) {
		t.Fatalf("NODES %+v, want %+v", got, want)
	}
	for i := range got.Records {
		g, _ := got.Records[i].MarshalBinary()
		w, _ := want.Records[i].MarshalBinary()
		if !bytes.Equal(g, w) {
			t.Errorf("record %d differs", i)
		}
	}
}

func TestMessageDecodeDoesNotAlias(t *testing.T) {
	p := &TalkRequest{ReqID: []byte{1, 2}, Protocol: "abc", Message: []byte("hello")}
	enc, _ := AppendMessage(nil, p)
	dec, err := DecodeMessage(enc)
	if err != nil {
		t.Fatal(err)
	}
	clear(enc)
	if !reflect.DeepEqual(dec, p) {
		t.Fatalf("decoded message changed with its input: %#v", dec)
	}
}

func TestPong4in6(t *testing.T) {
	p := &Pong{ReqID: []byte{1}, ToIP: netip.MustParseAddr("::ffff:192.0.2.1"), ToPort: 1}
	enc, err := AppendMessage(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := DecodeMessage(enc)
	if err != nil {
		t.Fatal(err)
	}
	if ip := dec.(*Pong).ToIP; ip != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("4in6 address came back as %v, want the IPv4 form", ip)
	}
}

func TestAppendMessageErrors(t *testing.T) {
	unsigned := new(enr.Record)
	unsigned.Set(enr.UDP(1))
	tests := []struct {
		p    Packet
		want error
	}{
		{nil, ErrUnencodable},
		{&Whoareyou{}, ErrUnencodable},
		{&Unknown{}, ErrUnencodable},
		{&Ping{ReqID: make([]byte, 9)}, ErrReqIDTooLarge},
		{&TalkResponse{ReqID: make([]byte, 100)}, ErrReqIDTooLarge},
		{&Pong{ReqID: []byte{1}}, ErrUnencodable},
		{&Nodes{Records: []*enr.Record{unsigned}}, ErrUnencodable},
		{&Nodes{Records: []*enr.Record{nil}}, ErrUnencodable},
	}
	for _, tt := range tests {
		if _, err := AppendMessage(nil, tt.p); !errors.Is(err, tt.want) {
			t.Errorf("AppendMessage(%#v): %v, want %v", tt.p, err, tt.want)
		}
	}
}

// TestDecodeMessageMalformed maps malformed message plaintexts to errors.
func TestDecodeMessageMalformed(t *testing.T) {
	rec := testRecords(t, 1)[0]
	recEnc, _ := rec.MarshalBinary()
	big := bytes.Repeat([]byte{'x'}, 400)
	bigRec, _ := rlp.EncodeToBytes([]any{[]byte{}, uint64(1), "id", "v4", "z", big})
	msg := func(typ byte, fields ...any) []byte {
		b, err := rlp.EncodeToBytes(fields)
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte{typ}, b...)
	}
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"empty", nil, ErrEmptyMessage},
		{"type 0", []byte{0x00, 0xc0}, ErrUnknownMessage},
		{"type 7 (REGTOPIC, not supported)", []byte{0x07, 0xc0}, ErrUnknownMessage},
		{"type 0xff", []byte{0xff}, ErrUnknownMessage},
		{"no message-data", []byte{PingMsg}, ErrInvalidMessage},
		{"message-data not a list", []byte{PingMsg, 0x80}, ErrInvalidMessage},
		{"list header past end", []byte{PingMsg, 0xc5, 0x01}, ErrInvalidMessage},
		{"trailing bytes", append(msg(PingMsg, []byte{1}, uint64(1)), 0x00), ErrInvalidMessage},
		{"ping without enr-seq", msg(PingMsg, []byte{1}), ErrInvalidMessage},
		{"ping with extra element", msg(PingMsg, []byte{1}, uint64(1), uint64(2)), ErrInvalidMessage},
		{"ping empty list", msg(PingMsg), ErrInvalidMessage},
		{"request ID of 9 bytes", msg(PingMsg, make([]byte, 9), uint64(1)), ErrReqIDTooLarge},
		{"request ID a list", msg(PingMsg, []any{}, uint64(1)), ErrInvalidMessage},
		{"enr-seq with leading zero", []byte{PingMsg, 0xc4, 0x01, 0x82, 0x00, 0x01}, ErrInvalidMessage},
		{"enr-seq of 9 bytes", msg(PingMsg, []byte{1}, bytes.Repeat([]byte{1}, 9)), ErrInvalidMessage},
		{"enr-seq a list", msg(PingMsg, []byte{1}, []any{}), ErrInvalidMessage},
		{"single byte in string header", []byte{PingMsg, 0xc3, 0x81, 0x01, 0x01}, ErrInvalidMessage},
		{"pong IP of 5 bytes", msg(PongMsg, []byte{1}, uint64(1), make([]byte, 5), uint64(1)), ErrInvalidMessage},
		{"pong IP empty", msg(PongMsg, []byte{1}, uint64(1), []byte{}, uint64(1)), ErrInvalidMessage},
		{"pong port 65536", msg(PongMsg, []byte{1}, uint64(1), make([]byte, 4), uint64(65536)), ErrInvalidMessage},
		{"pong without port", msg(PongMsg, []byte{1}, uint64(1), make([]byte, 4)), ErrInvalidMessage},
		{"findnode distances not a list", msg(FindnodeMsg, []byte{1}, uint64(256)), ErrInvalidMessage},
		{"findnode distance a list", msg(FindnodeMsg, []byte{1}, []any{[]any{}}), ErrInvalidMessage},
		{"findnode distance non-canonical", []byte{FindnodeMsg, 0xc5, 0x01, 0xc3, 0x82, 0x00, 0x01}, ErrInvalidMessage},
		{"findnode without distances", msg(FindnodeMsg, []byte{1}), ErrInvalidMessage},
		{"nodes total 256", msg(NodesMsg, []byte{1}, uint64(256), []any{}), ErrInvalidMessage},
		{"nodes records not a list", msg(NodesMsg, []byte{1}, uint64(1), []byte{}), ErrInvalidMessage},
		{"nodes record a string", msg(NodesMsg, []byte{1}, uint64(1), []any{[]byte{1, 2}}), ErrInvalidMessage},
		{"nodes record without signature", msg(NodesMsg, []byte{1}, uint64(1), []any{[]any{}}), ErrInvalidMessage},
		{"nodes record over 300 bytes", msg(NodesMsg, []byte{1}, uint64(1), []any{rlp.RawValue(bigRec)}), enr.ErrTooBig},
		{"nodes record with trailing garbage in list", msg(NodesMsg, []byte{1}, uint64(1), []any{rlp.RawValue(recEnc), []byte{}}), ErrInvalidMessage},
		{"talkreq without request", msg(TalkRequestMsg, []byte{1}, "p"), ErrInvalidMessage},
		{"talkreq protocol a list", msg(TalkRequestMsg, []byte{1}, []any{}, []byte{}), ErrInvalidMessage},
		{"talkresp without response", msg(TalkResponseMsg, []byte{1}), ErrInvalidMessage},
		{"talkresp extra element", msg(TalkResponseMsg, []byte{1}, []byte{}, []byte{}), ErrInvalidMessage},
	}
	for _, tt := range tests {
		p, err := DecodeMessage(tt.input)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got (%v, %v), want %v", tt.name, p, err, tt.want)
			continue
		}
		if p != nil {
			t.Errorf("%s: returned packet %v with error", tt.name, p)
		}
		if !strings.HasPrefix(err.Error(), "v5wire: ") && !strings.HasPrefix(err.Error(), "enr: ") {
			t.Errorf("%s: error %q lacks package prefix", tt.name, err)
		}
	}
}

func TestPacketInterface(t *testing.T) {
	tests := []struct {
		p     Packet
		name  string
		kind  byte
		hasID bool
	}{
		{new(Ping), "PING/v5", PingMsg, true},
		{new(Pong), "PONG/v5", PongMsg, true},
		{new(Findnode), "FINDNODE/v5", FindnodeMsg, true},
		{new(Nodes), "NODES/v5", NodesMsg, true},
		{new(TalkRequest), "TALKREQ/v5", TalkRequestMsg, true},
		{new(TalkResponse), "TALKRESP/v5", TalkResponseMsg, true},
		{new(Whoareyou), "WHOAREYOU/v5", WhoareyouPacket, false},
		{new(Unknown), "UNKNOWN/v5", UnknownPacket, false},
	}
	for _, tt := range tests {
		if tt.p.Name() != tt.name || tt.p.Kind() != tt.kind {
			t.Errorf("%T: Name %q Kind %d", tt.p, tt.p.Name(), tt.p.Kind())
		}
		tt.p.SetRequestID([]byte{1, 2})
		if got := tt.p.RequestID(); (got != nil) != tt.hasID || tt.hasID && !bytes.Equal(got, []byte{1, 2}) {
			t.Errorf("%T: RequestID after SetRequestID: %x", tt.p, got)
		}
	}
}
