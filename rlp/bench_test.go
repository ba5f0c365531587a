package rlp

import (
	"bytes"
	"net"
	"testing"
)

func benchHello() *fuzzHello {
	return &fuzzHello{
		Version:    5,
		Name:       "Geth/v1.17.10-stable/linux-amd64/go1.25.0",
		Caps:       []fuzzCap{{"eth", 68}, {"eth", 69}, {"snap", 1}},
		ListenPort: 30303,
		ID:         bytes.Repeat([]byte{0xab}, 64),
	}
}

func benchNeighbors() *fuzzNeighbors {
	var msg fuzzNeighbors
	msg.Expiration = 1_800_000_000
	msg.Nodes = make([]struct {
		IP       net.IP
		UDP, TCP uint16
		ID       [64]byte
	}, 12)
	for i := range msg.Nodes {
		msg.Nodes[i].IP = net.IPv4(10, 0, byte(i), 1).To4()
		msg.Nodes[i].UDP, msg.Nodes[i].TCP = 30303, 30303
	}
	return &msg
}

func BenchmarkEncodeHello(b *testing.B) {
	h := benchHello()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeToBytes(h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeHello(b *testing.B) {
	enc, _ := EncodeToBytes(benchHello())
	b.ReportAllocs()
	for b.Loop() {
		var h fuzzHello
		if err := DecodeBytes(enc, &h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeHelloReader decodes through the io.Reader path.
func BenchmarkDecodeHelloReader(b *testing.B) {
	enc, _ := EncodeToBytes(benchHello())
	r := bytes.NewReader(enc)
	s := NewStream(r, 0)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(enc)
		s.Reset(r, 0)
		var h fuzzHello
		if err := s.Decode(&h); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeNeighbors(b *testing.B) {
	n := benchNeighbors()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeToBytes(n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNeighbors(b *testing.B) {
	enc, _ := EncodeToBytes(benchNeighbors())
	b.ReportAllocs()
	for b.Loop() {
		var n fuzzNeighbors
		if err := DecodeBytes(enc, &n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRawValueList(b *testing.B) {
	enc, _ := EncodeToBytes(benchNeighbors())
	b.ReportAllocs()
	for b.Loop() {
		var r RawValue
		if err := DecodeBytes(enc, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitWalk(b *testing.B) {
	enc, _ := EncodeToBytes(benchNeighbors())
	b.ReportAllocs()
	for b.Loop() {
		content, _, err := SplitList(enc)
		if err != nil {
			b.Fatal(err)
		}
		nodes, _, _ := SplitList(content)
		for len(nodes) > 0 {
			_, _, nodes, err = Split(nodes)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
