package rlpdiff

import (
	"bytes"
	"net"
	"testing"

	grlp "github.com/ethereum/go-ethereum/rlp"
	"github.com/trellis-p2p/trellis/rlp"
)

func sampleHello() helloT {
	return helloT{
		Version:    5,
		Name:       "Geth/v1.17.10-stable-1234abcd/linux-amd64/go1.25.0",
		Caps:       []cap{{"eth", 68}, {"eth", 69}, {"snap", 1}},
		ListenPort: 30303,
		ID:         bytes.Repeat([]byte{0xab}, 64),
	}
}

func sampleNeighbors(n int) neighborsT {
	msg := neighborsT{Expiration: 1_800_000_000}
	for i := range n {
		var node rpcNode
		if i%3 == 2 {
			node.IP = net.ParseIP("2001:db8::1234:5678")
		} else {
			node.IP = net.IPv4(10, 0, byte(i), 1).To4()
		}
		node.UDP, node.TCP = 30303, uint16(30303+i)
		for j := range node.ID {
			node.ID[j] = byte(i*7 + j)
		}
		msg.Nodes = append(msg.Nodes, node)
	}
	return msg
}

func toGethHello(h helloT) helloG {
	return helloG{h.Version, h.Name, h.Caps, h.ListenPort, h.ID, nil}
}

func toGethNeighbors(n neighborsT) neighborsG {
	return neighborsG{Nodes: n.Nodes, Expiration: n.Expiration}
}

func mustEncode(b *testing.B, v any) []byte {
	enc, err := rlp.EncodeToBytes(v)
	if err != nil {
		b.Fatal(err)
	}
	genc, err := grlp.EncodeToBytes(v)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(enc, genc) {
		b.Fatalf("implementations disagree:\n%x\n%x", enc, genc)
	}
	return enc
}

// BenchmarkRLP compares the two implementations on the same messages. Decode
// targets are fresh values each iteration, as when handling a received message.
func BenchmarkRLP(b *testing.B) {
	hello := sampleHello()
	helloEnc := mustEncode(b, &hello)
	gHello := toGethHello(hello)
	nb := sampleNeighbors(12)
	nbEnc := mustEncode(b, &nb)
	nbG := toGethNeighbors(nb)
	blob := bytes.Repeat([]byte{0x5a, 0xa5, 0x01, 0xff}, 1<<18)
	blobEnc := mustEncode(b, blob)

	b.Run("Hello/Decode/impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v helloT
			if err := rlp.DecodeBytes(helloEnc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Hello/Decode/impl=geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v helloG
			if err := grlp.DecodeBytes(helloEnc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Hello/Encode/impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rlp.EncodeToBytes(&hello); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Hello/Encode/impl=geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := grlp.EncodeToBytes(&gHello); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Neighbors12/Decode/impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v neighborsT
			if err := rlp.DecodeBytes(nbEnc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Neighbors12/Decode/impl=geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v neighborsG
			if err := grlp.DecodeBytes(nbEnc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Neighbors12/Encode/impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rlp.EncodeToBytes(&nb); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Neighbors12/Encode/impl=geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := grlp.EncodeToBytes(&nbG); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Bytes1MiB/Decode/impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(blob)))
		for b.Loop() {
			var v []byte
			if err := rlp.DecodeBytes(blobEnc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Bytes1MiB/Decode/impl=geth", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(blob)))
		for b.Loop() {
			var v []byte
			if err := grlp.DecodeBytes(blobEnc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Bytes1MiB/Encode/impl=trellis", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(blob)))
		for b.Loop() {
			if _, err := rlp.EncodeToBytes(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Bytes1MiB/Encode/impl=geth", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(blob)))
		for b.Loop() {
			if _, err := grlp.EncodeToBytes(blob); err != nil {
				b.Fatal(err)
			}
		}
	})
}
