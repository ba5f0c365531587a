package v4wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

// list encodes elements as an RLP list (a test helper: it panics on values
// rlp cannot encode).
func list(elems ...any) []byte {
	b, err := rlp.EncodeToBytes(elems)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	ip4     = []byte{10, 0, 0, 1}
	goodEP  = []any{ip4, uint(30303), uint(30303)}
	token   = bytes.Repeat([]byte{7}, 32)
	key64   = bytes.Repeat([]byte{9}, 64)
	goodExp = uint64(1700000000)
)

// Every way packet-data can be malformed, each with the error it must give.
// All are wrapped in ErrMalformed.
var malformedData = []struct {
	name  string
	ptype byte
	data  []byte
	want  error
}{
	{"data empty", PingPacket, nil, nil},
	{"data not a list", PingPacket, []byte{0x80}, rlp.ErrExpectedList},
	{"list longer than data", PingPacket, []byte{0xc5, 0x01}, rlp.ErrValueTooLarge},
	{"ping without fields", PingPacket, list(), rlp.ErrTooFewElements},
	{"ping without to", PingPacket, list(uint(4), goodEP), rlp.ErrTooFewElements},
	{"ping from not a list", PingPacket, list(uint(4), uint(1), goodEP, goodExp), rlp.ErrExpectedList},
	{"ping endpoint short", PingPacket, list(uint(4), []any{ip4, uint(1)}, goodEP, goodExp), rlp.ErrTooFewElements},
	{"ping port above 65535", PingPacket, list(uint(4), []any{ip4, uint(70000), uint(1)}, goodEP, goodExp), rlp.ErrUintOverflow},
	{"ping version with leading zero", PingPacket, list(rlp.RawValue{0x82, 0x00, 0x04}, goodEP, goodEP, goodExp), rlp.ErrCanonInt},
	{"ping byte in string header", PingPacket, list(rlp.RawValue{0x81, 0x04}, goodEP, goodEP, goodExp), rlp.ErrCanonSize},
	{"ping expiration of 9 bytes", PingPacket, list(uint(4), goodEP, goodEP, rlp.RawValue{0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9}), rlp.ErrUintOverflow},
	{"ping expiration a list", PingPacket, list(uint(4), goodEP, goodEP, []any{}), rlp.ErrExpectedString},
	{"pong token a list", PongPacket, list(goodEP, []any{}, goodExp), rlp.ErrExpectedString},
	{"pong without expiration", PongPacket, list(goodEP, token), rlp.ErrTooFewElements},
	{"findnode target 63 bytes", FindNodePacket, list(key64[:63], goodExp), rlp.ErrWrongSize},
	{"findnode target 65 bytes", FindNodePacket, list(append(key64, 0), goodExp), rlp.ErrWrongSize},
	{"findnode target a list", FindNodePacket, list([]any{}, goodExp), rlp.ErrExpectedString},
	{"neighbors nodes not a list", NeighborsPacket, list(uint(1), goodExp), rlp.ErrExpectedList},
	{"neighbors node not a list", NeighborsPacket, list([]any{uint(1)}, goodExp), rlp.ErrExpectedList},
	{"neighbors node without id", NeighborsPacket, list([]any{[]any{ip4, uint(1), uint(1)}}, goodExp), rlp.ErrTooFewElements},
	{"neighbors node id short", NeighborsPacket, list([]any{[]any{ip4, uint(1), uint(1), key64[:10]}}, goodExp), rlp.ErrWrongSize},
	{"neighbors without expiration", NeighborsPacket, list([]any{}), rlp.ErrTooFewElements},
	{"enrrequest without expiration", ENRRequestPacket, list(), rlp.ErrTooFewElements},
	{"enrresponse without record", ENRResponsePacket, list(token), rlp.ErrTooFewElements},
	{"enrresponse record not a record", ENRResponsePacket, list(token, []any{uint(1)}), enr.ErrIncompleteList},
	{"enrresponse record a string", ENRResponsePacket, list(token, []byte{1, 2}), enr.ErrMalformed},
	{"enrresponse record too big", ENRResponsePacket, list(token, []any{bytes.Repeat([]byte{1}, 64), uint(1), "k", bytes.Repeat([]byte{2}, 300)}), enr.ErrTooBig},
	{"extra element truncated", ENRRequestPacket, []byte{0xc7, 0x84, 1, 2, 3, 4, 0x83, 1}, rlp.ErrValueTooLarge},
}

func TestMalformedData(t *testing.T) {
	for _, tt := range malformedData {
		t.Run(tt.name, func(t *testing.T) {
			p, _, _, err := DecodeNull(sealed(tt.ptype, tt.data))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed (packet %+v)", err, p)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if p != nil {
				t.Fatal("packet returned with error")
			}
		})
	}
}

func TestMalformedHeader(t *testing.T) {
	good := sealed(ENRRequestPacket, list(goodExp))
	badHash := bytes.Clone(good)
	badHash[0] ^= 1
	badTail := bytes.Clone(good)
	badTail[len(badTail)-1] ^= 1
	nonNull := bytes.Clone(good)
	nonNull[HeadSize-1] = 1
	nonNull = sealedRaw(nonNull)

	tests := []struct {
		name   string
		packet []byte
		decode func([]byte) (Packet, Pubkey, [HashSize]byte, error)
		want   error
	}{
		{"empty", nil, Decode, ErrPacketTooSmall},
		{"header only", good[:HeadSize], Decode, ErrPacketTooSmall},
		{"1281 bytes", make([]byte, MaxPacketSize+1), Decode, ErrPacketTooBig},
		{"hash flipped", badHash, Decode, ErrBadHash},
		{"data flipped", badTail, Decode, ErrBadHash},
		{"type 0", sealed(0, list(goodExp)), Decode, ErrUnknownType},
		{"type 7", sealed(7, list(goodExp)), Decode, ErrUnknownType},
		{"type 255", sealed(255, list(goodExp)), Decode, ErrUnknownType},
		{"zero signature", good, Decode, ErrBadSignature},
		{"null signature with recovery id", nonNull, DecodeNull, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, _, err := tt.decode(tt.packet)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if p != nil {
				t.Fatal("packet returned with error")
			}
		})
	}
}

// sealedRaw recomputes the hash of a packet whose signature was edited.
func sealedRaw(b []byte) []byte {
	h := sealed(b[HeadSize], b[HeadSize+1:])
	copy(h[HashSize:HeadSize], b[HashSize:HeadSize])
	out, _, _ := seal(h, func([]byte) ([]byte, error) { return b[HashSize:HeadSize], nil })
	return out
}

// EIP-8: trailing bytes after the list, and extra elements inside the
// endpoint and node lists, are accepted.
func TestLenient(t *testing.T) {
	ep := []any{ip4, uint(1), uint(2), "extra", []any{}}
	data := append(list(uint(99), ep, ep, goodExp, uint(5), "more"), 0xde, 0xad)
	p, _, _, err := DecodeNull(sealed(PingPacket, data))
	if err != nil {
		t.Fatal(err)
	}
	ping := p.(*Ping)
	if ping.Version != 99 || ping.From.UDP != 1 || ping.To.TCP != 2 || ping.ENRSeq != 5 || len(ping.Rest) != 1 {
		t.Fatalf("decoded %+v", ping)
	}

	// An IP of odd length makes an unusable address, not a bad packet.
	node := []any{[]byte{1, 2, 3}, uint(30303), uint(30303), key64, "extra"}
	p, _, _, err = DecodeNull(sealed(NeighborsPacket, list([]any{node}, goodExp)))
	if err != nil {
		t.Fatal(err)
	}
	if n := p.(*Neighbors).Nodes; len(n) != 1 || n[0].IP.IsValid() || n[0].UDP != 30303 {
		t.Fatalf("decoded %+v", n)
	}
}

// Decoded packets do not alias the input buffer, which the reader reuses.
func TestNoAliasing(t *testing.T) {
	for _, p := range roundTripPackets(t) {
		b, _, err := EncodeNull(Pubkey{}, p)
		if err != nil {
			t.Fatal(err)
		}
		got, _, _, err := DecodeNull(b)
		if err != nil {
			t.Fatal(err)
		}
		want, _, _, _ := DecodeNull(bytes.Clone(b))
		for i := range b {
			b[i] = 0xee
		}
		if !equalPackets(got, want) {
			t.Fatalf("%s changed when the input buffer was overwritten", p.Name())
		}
	}
}
