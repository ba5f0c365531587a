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

func mustEncode(b testing.TB, v any) []byte {
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

type benchCase struct {
	name  string
	bytes int // for SetBytes, if non-zero
	run   func(b *testing.B)
}

// rlpBenchCases returns the benchmark cases, named message/op/impl=library.
// Decode targets are fresh values each iteration, as when handling a received
// message.
func rlpBenchCases(tb testing.TB) []benchCase {
	hello := sampleHello()
	helloEnc := mustEncode(tb, &hello)
	gHello := toGethHello(hello)
	nb := sampleNeighbors(12)
	nbEnc := mustEncode(tb, &nb)
	nbG := toGethNeighbors(nb)
	blob := bytes.Repeat([]byte{0x5a, 0xa5, 0x01, 0xff}, 1<<18)
	blobEnc := mustEncode(tb, blob)

	decode := func(enc []byte, newVal func() any, dec func([]byte, any) error) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				if err := dec(enc, newVal()); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	encode := func(val any, enc func(any) ([]byte, error)) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				if _, err := enc(val); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return []benchCase{
		{"Hello/Decode/impl=trellis", 0, decode(helloEnc, func() any { return new(helloT) }, rlp.DecodeBytes)},
		{"Hello/Decode/impl=geth", 0, decode(helloEnc, func() any { return new(helloG) }, grlp.DecodeBytes)},
		{"Hello/Encode/impl=trellis", 0, encode(&hello, rlp.EncodeToBytes)},
		{"Hello/Encode/impl=geth", 0, encode(&gHello, grlp.EncodeToBytes)},
		{"Neighbors12/Decode/impl=trellis", 0, decode(nbEnc, func() any { return new(neighborsT) }, rlp.DecodeBytes)},
		{"Neighbors12/Decode/impl=geth", 0, decode(nbEnc, func() any { return new(neighborsG) }, grlp.DecodeBytes)},
		{"Neighbors12/Encode/impl=trellis", 0, encode(&nb, rlp.EncodeToBytes)},
		{"Neighbors12/Encode/impl=geth", 0, encode(&nbG, grlp.EncodeToBytes)},
		{"Bytes1MiB/Decode/impl=trellis", len(blob), decode(blobEnc, func() any { return new([]byte) }, rlp.DecodeBytes)},
		{"Bytes1MiB/Decode/impl=geth", len(blob), decode(blobEnc, func() any { return new([]byte) }, grlp.DecodeBytes)},
		{"Bytes1MiB/Encode/impl=trellis", len(blob), encode(blob, rlp.EncodeToBytes)},
		{"Bytes1MiB/Encode/impl=geth", len(blob), encode(blob, grlp.EncodeToBytes)},
	}
}

// BenchmarkRLP compares the two implementations on the same messages, in the
// same run: compare with benchstat -col /impl.
func BenchmarkRLP(b *testing.B) {
	for _, c := range rlpBenchCases(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			if c.bytes > 0 {
				b.SetBytes(int64(c.bytes))
			}
			c.run(b)
		})
	}
}
