package v4wire

import (
	"math"
	"testing"
)

func benchPackets(b *testing.B) map[string]Packet {
	full := &Neighbors{Expiration: math.MaxUint64}
	for range MaxNeighbors {
		full.Nodes = append(full.Nodes, maxNode())
	}
	pkts := roundTripPackets(b)
	return map[string]Packet{"ping": pkts[1], "neighbors12": full, "enrresponse": pkts[len(pkts)-1]}
}

// BenchmarkEncode measures signing and encoding; the secp256k1 signature
// dominates. The null variant shows the cost of the codec alone.
func BenchmarkEncode(b *testing.B) {
	key := testKey(b)
	pub := EncodePubkey(key.PubKey())
	for name, p := range benchPackets(b) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Encode(key, p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/null", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := EncodeNull(pub, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode measures hash check, key recovery and decoding.
func BenchmarkDecode(b *testing.B) {
	key := testKey(b)
	pub := EncodePubkey(key.PubKey())
	for name, p := range benchPackets(b) {
		packet, _, _ := Encode(key, p)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(packet)))
			for b.Loop() {
				if _, _, _, err := Decode(packet); err != nil {
					b.Fatal(err)
				}
			}
		})
		npacket, _, _ := EncodeNull(pub, p)
		b.Run(name+"/null", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(npacket)))
			for b.Loop() {
				if _, _, _, err := DecodeNull(npacket); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
