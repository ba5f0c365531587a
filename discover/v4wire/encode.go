package v4wire

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlp"
)

// Encode signs p with priv and returns the packet and its hash. The hash is
// what the recipient puts in the reply token of a Pong or ENRResponse.
// Encode fails with ErrPacketTooBig if the packet would exceed
// MaxPacketSize (a Neighbors packet with too many nodes).
func Encode(priv *crypto.PrivateKey, p Packet) (packet []byte, hash [HashSize]byte, err error) {
	return encode(p, func(digest []byte) ([]byte, error) {
		return crypto.Sign(digest, priv)
	})
}

// EncodeNull is Encode under the null identity scheme of simulations: the
// signature field holds the sender's public key and a zero byte instead of
// a signature. Only DecodeNull accepts such packets. It exists so that
// simulations of thousands of nodes can run the real packet path without
// paying for secp256k1 signing and recovery on every packet, the way
// enode.SignNull does for records; nothing on a real network uses it.
func EncodeNull(from Pubkey, p Packet) (packet []byte, hash [HashSize]byte, err error) {
	return encode(p, func([]byte) ([]byte, error) {
		return append(from[:], 0), nil
	})
}

func encode(p Packet, sign func(digest []byte) ([]byte, error)) ([]byte, [HashSize]byte, error) {
	var hash [HashSize]byte
	b := make([]byte, HeadSize, 256)
	b = append(b, p.Kind())
	b, err := appendData(b, p)
	if err != nil {
		return nil, hash, err
	}
	if len(b) > MaxPacketSize {
		return nil, hash, fmt.Errorf("%w: %s of %d bytes", ErrPacketTooBig, p.Name(), len(b))
	}
	return seal(b, sign)
}

// seal fills in the signature and hash of b, which holds HeadSize bytes of
// space followed by the packet type and packet-data.
func seal(b []byte, sign func(digest []byte) ([]byte, error)) ([]byte, [HashSize]byte, error) {
	var hash [HashSize]byte
	digest := crypto.Keccak256Hash(b[HeadSize:])
	sig, err := sign(digest[:])
	if err != nil {
		return nil, hash, err
	}
	copy(b[HashSize:HeadSize], sig)
	hash = crypto.Keccak256Hash(b[HashSize:])
	copy(b, hash[:])
	return b, hash, nil
}

// appendData appends the RLP packet-data of p. The six packet types are
// written by hand; other Packet implementations go through package rlp.
func appendData(b []byte, p Packet) ([]byte, error) {
	w := rlp.NewEncoderBuffer(nil)
	defer w.Flush()
	l := w.List()
	switch p := p.(type) {
	case *Ping:
		w.WriteUint64(p.Version)
		writeEndpoint(w, p.From)
		writeEndpoint(w, p.To)
		w.WriteUint64(p.Expiration)
		writeSeq(w, p.ENRSeq, p.Rest)
		writeRest(w, p.Rest)
	case *Pong:
		writeEndpoint(w, p.To)
		w.WriteBytes(p.ReplyTok)
		w.WriteUint64(p.Expiration)
		writeSeq(w, p.ENRSeq, p.Rest)
		writeRest(w, p.Rest)
	case *FindNode:
		w.WriteBytes(p.Target[:])
		w.WriteUint64(p.Expiration)
		writeRest(w, p.Rest)
	case *Neighbors:
		nl := w.List()
		for _, n := range p.Nodes {
			el := w.List()
			w.WriteBytes(ipBytes(n.IP))
			w.WriteUint64(uint64(n.UDP))
			w.WriteUint64(uint64(n.TCP))
			w.WriteBytes(n.ID[:])
			w.ListEnd(el)
		}
		w.ListEnd(nl)
		w.WriteUint64(p.Expiration)
		writeRest(w, p.Rest)
	case *ENRRequest:
		w.WriteUint64(p.Expiration)
		writeRest(w, p.Rest)
	case *ENRResponse:
		w.WriteBytes(p.ReplyTok)
		rec, err := p.Record.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("v4wire: encoding %s: %w", p.Name(), err)
		}
		w.Write(rec)
		writeRest(w, p.Rest)
	default:
		// Reflection-based encoding writes its own list.
		return rlp.AppendEncoded(b, p)
	}
	w.ListEnd(l)
	return w.AppendToBytes(b), nil
}

// EncodeRLP writes the endpoint as [ip, udp-port, tcp-port] (rlp.Encoder),
// for packets encoded by package rlp rather than by Encode's own writers.
func (e Endpoint) EncodeRLP(out io.Writer) error {
	w := rlp.NewEncoderBuffer(out)
	writeEndpoint(w, e)
	return w.Flush()
}

func writeEndpoint(w rlp.EncoderBuffer, e Endpoint) {
	l := w.List()
	w.WriteBytes(ipBytes(e.IP))
	w.WriteUint64(uint64(e.UDP))
	w.WriteUint64(uint64(e.TCP))
	w.ListEnd(l)
}

// writeSeq writes the optional ENRSeq field (EIP-868). A zero ENRSeq is
// omitted unless extra elements follow that would otherwise be read in its
// place; when the first extra element is not an integer (a pre-EIP-868
// packet), the field was absent and stays so, which keeps decode and encode
// inverse to each other.
func writeSeq(w rlp.EncoderBuffer, seq uint64, rest []rlp.RawValue) {
	if seq != 0 || (len(rest) > 0 && isUint(rest[0])) {
		w.WriteUint64(seq)
	}
}

func isUint(v rlp.RawValue) bool {
	_, rest, err := rlp.SplitUint64(v)
	return err == nil && len(rest) == 0
}

// writeRest writes extra elements back; they were validated as single RLP
// values when decoded.
func writeRest(w rlp.EncoderBuffer, rest []rlp.RawValue) {
	for _, v := range rest {
		w.Write(v)
	}
}

// ipBytes returns the wire form of an IP: 4 bytes for IPv4 (also when given
// as 4in6), 16 for IPv6, empty for the zero Addr.
func ipBytes(ip netip.Addr) []byte {
	switch {
	case !ip.IsValid():
		return nil
	case ip.Is4() || ip.Is4In6():
		a := ip.Unmap().As4()
		return a[:]
	default:
		a := ip.As16()
		return a[:]
	}
}
