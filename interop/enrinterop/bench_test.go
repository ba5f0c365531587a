package enrinterop

import (
	"bytes"
	"net/netip"
	"testing"

	genode "github.com/ethereum/go-ethereum/p2p/enode"
	genr "github.com/ethereum/go-ethereum/p2p/enr"
	grlp "github.com/ethereum/go-ethereum/rlp"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

// typicalRecord is an execution client's record: id, secp256k1, ip, tcp,
// udp and the "eth" fork ID entry [[fork hash, next fork]] kept as raw RLP.
func typicalRecord(b *testing.B) []byte {
	key, err := crypto.HexToPrivateKey("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	if err != nil {
		b.Fatal(err)
	}
	eth, err := grlp.EncodeToBytes([]any{[]any{[4]byte{0x9f, 0x3d, 0x22, 0x54}, uint64(1746612311)}})
	if err != nil {
		b.Fatal(err)
	}
	var r enr.Record
	r.SetSeq(1712345678901)
	r.Set(enr.IPv4(netip.MustParseAddr("203.0.113.77")))
	r.Set(enr.TCP(30303))
	r.Set(enr.UDP(30303))
	r.Set(enr.RawEntry{Key: "eth", Value: eth})
	if err := enr.SignV4(&r, key); err != nil {
		b.Fatal(err)
	}
	raw, err := r.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkENR compares the record codecs. Decode is bytes -> record without
// signature verification (what rlp.DecodeBytes into enr.Record does in
// go-ethereum); Verify is record -> node (enode.New), which checks the
// signature and derives the node ID.
//
// Trellis has two ways to do each: "trellis" is the record's own method
// (UnmarshalBinary, MarshalBinary), "trellis-rlp" goes through package rlp
// (rlp.DecodeBytes, rlp.EncodeToBytes) as go-ethereum's benchmark does.
// "trellis-append" appends to a reused buffer.
func BenchmarkENR(b *testing.B) {
	raw := typicalRecord(b)

	b.Run("Decode/trellis-rlp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r enr.Record
			if err := rlp.DecodeBytes(raw, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode/trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r enr.Record
			if err := r.UnmarshalBinary(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode/geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r genr.Record
			if err := grlp.DecodeBytes(raw, &r); err != nil {
				b.Fatal(err)
			}
		}
	})

	var tr enr.Record
	if err := tr.UnmarshalBinary(raw); err != nil {
		b.Fatal(err)
	}
	var gr genr.Record
	if err := grlp.DecodeBytes(raw, &gr); err != nil {
		b.Fatal(err)
	}
	b.Run("Encode/trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc, err := tr.MarshalBinary()
			if err != nil || len(enc) != len(raw) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encode/trellis-rlp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc, err := rlp.EncodeToBytes(&tr)
			if err != nil || len(enc) != len(raw) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encode/trellis-append", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			enc, err := tr.AppendBinary(buf[:0])
			if err != nil || len(enc) != len(raw) {
				b.Fatal(err)
			}
		}
	})
	b.Run("Encode/geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			enc, err := grlp.EncodeToBytes(&gr)
			if err != nil || len(enc) != len(raw) {
				b.Fatal(err)
			}
		}
	})

	b.Run("Verify/trellis", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := enode.New(&tr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify/geth", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := genode.New(genode.ValidSchemes, &gr); err != nil {
				b.Fatal(err)
			}
		}
	})
	if enc, _ := grlp.EncodeToBytes(&gr); !bytes.Equal(enc, raw) {
		b.Fatal("geth re-encodes the benchmark record differently")
	}
}
