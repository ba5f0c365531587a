package v4wire

import (
	"reflect"
	"testing"
)

func equalPackets(a, b Packet) bool { return reflect.DeepEqual(a, b) }

// FuzzDecode feeds arbitrary datagrams to Decode, which must not panic, and
// the same bytes as packet-type || packet-data of a null-signed packet to
// DecodeNull, so that the fuzzer reaches the packet-data decoders without
// having to forge hashes. Whatever decodes must encode and decode again to
// the same packet.
func FuzzDecode(f *testing.F) {
	_, vectors := loadEIP8(f)
	for _, raw := range vectors {
		f.Add(raw)
		f.Add(raw[HeadSize:])
	}
	for _, p := range roundTripPackets(f) {
		b, _, err := EncodeNull(Pubkey{}, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[HeadSize:])
	}
	for _, tt := range malformedData {
		f.Add(append([]byte{tt.ptype}, tt.data...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		Decode(b)
		if len(b) == 0 || len(b) > MaxPacketSize-HeadSize {
			return
		}
		p, _, _, err := DecodeNull(sealed(b[0], b[1:]))
		if err != nil {
			if p != nil {
				t.Fatal("packet returned with error")
			}
			return
		}
		enc, _, err := EncodeNull(Pubkey{}, p)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", p, err)
		}
		p2, _, _, err := DecodeNull(enc)
		if err != nil {
			t.Fatalf("decoding re-encoded %+v: %v", p, err)
		}
		if !equalPackets(p, p2) {
			t.Fatalf("round trip changed packet\n%+v\n%+v", p, p2)
		}
	})
}
