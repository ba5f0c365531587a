package enr

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlp"
)

// eip778Vector is enr/testdata/eip778.json: the example record of EIP-778
// and devp2p enr.md "Test Vectors".
type eip778Vector struct {
	Text       string `json:"text"`
	RLPHex     string `json:"rlp_hex"`
	PrivateKey string `json:"private_key"`
	Scheme     string `json:"identity_scheme"`
	Seq        uint64 `json:"seq"`
	NodeID     string `json:"node_id"`
	IP         string `json:"ip"`
	UDP        uint16 `json:"udp_port"`
	Structure  []struct {
		Hex    *string `json:"hex"`
		String *string `json:"string"`
	} `json:"rlp_structure"`
}

func loadEIP778(t testing.TB) (v eip778Vector, raw []byte) {
	t.Helper()
	data, err := os.ReadFile("testdata/eip778.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	raw, err = hex.DecodeString(v.RLPHex)
	if err != nil {
		t.Fatal(err)
	}
	return v, raw
}

func TestEIP778Vector(t *testing.T) {
	v, raw := loadEIP778(t)

	fromText, err := ParseText(v.Text)
	if err != nil {
		t.Fatalf("ParseText: %v", err)
	}
	var fromRLP Record
	if err := rlp.DecodeBytes(raw, &fromRLP); err != nil {
		t.Fatalf("rlp.DecodeBytes: %v", err)
	}
	var fromBinary Record
	if err := fromBinary.UnmarshalBinary(raw); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}

	for name, r := range map[string]*Record{"text": fromText, "rlp": &fromRLP, "binary": &fromBinary} {
		t.Run(name, func(t *testing.T) {
			checkEIP778Record(t, v, raw, r)
		})
	}
}

func checkEIP778Record(t *testing.T, v eip778Vector, raw []byte, r *Record) {
	if err := r.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if r.Seq() != v.Seq {
		t.Errorf("seq %d, want %d", r.Seq(), v.Seq)
	}
	if got := r.IdentityScheme(); got != v.Scheme {
		t.Errorf("identity scheme %q, want %q", got, v.Scheme)
	}
	var ip IPv4
	if err := r.Load(&ip); err != nil || netip.Addr(ip) != netip.MustParseAddr(v.IP) {
		t.Errorf("ip %v (err %v), want %s", netip.Addr(ip), err, v.IP)
	}
	var udp UDP
	if err := r.Load(&udp); err != nil || uint16(udp) != v.UDP {
		t.Errorf("udp %d (err %v), want %d", udp, err, v.UDP)
	}
	key, err := crypto.HexToPrivateKey(v.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	var pub Secp256k1
	if err := r.Load(&pub); err != nil {
		t.Fatalf("secp256k1: %v", err)
	}
	if !(*crypto.PublicKey)(&pub).IsEqual(key.PubKey()) {
		t.Error("secp256k1 entry is not the public key of the private key")
	}
	if got := hex.EncodeToString(V4ID{}.NodeAddr(r)); got != v.NodeID {
		t.Errorf("node ID %s, want %s", got, v.NodeID)
	}
	if got := hex.EncodeToString(r.Signature()); got != *v.Structure[0].Hex {
		t.Errorf("signature %s, want %s", got, *v.Structure[0].Hex)
	}
	// The published structure, key by key.
	wantKeys := []string{}
	for i := 2; i < len(v.Structure); i += 2 {
		wantKeys = append(wantKeys, *v.Structure[i].String)
	}
	if got := r.Keys(); !slices.Equal(got, wantKeys) {
		t.Errorf("keys %q, want %q", got, wantKeys)
	}

	// Re-encoding is byte-identical in both forms.
	enc, err := r.MarshalBinary()
	if err != nil || !bytes.Equal(enc, raw) {
		t.Errorf("MarshalBinary = %x, %v\nwant %x", enc, err, raw)
	}
	enc, err = rlp.EncodeToBytes(r)
	if err != nil || !bytes.Equal(enc, raw) {
		t.Errorf("rlp.EncodeToBytes = %x, %v\nwant %x", enc, err, raw)
	}
	if got := r.String(); got != v.Text {
		t.Errorf("String = %s\nwant %s", got, v.Text)
	}
	if r.Size() != len(raw) {
		t.Errorf("Size = %d, want %d", r.Size(), len(raw))
	}
}

// TestEIP778Sign builds the example record from scratch and signs it with
// the published key. v4 signatures here are deterministic (RFC 6979), and
// the published record was made that way too, so the bytes must match.
func TestEIP778Sign(t *testing.T) {
	v, raw := loadEIP778(t)
	key, err := crypto.HexToPrivateKey(v.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	r.SetSeq(v.Seq)
	r.Set(IPv4(netip.MustParseAddr(v.IP)))
	r.Set(UDP(v.UDP))
	if err := SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	enc, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, raw) {
		t.Fatalf("signed record differs from the published one\n got %x\nwant %x", enc, raw)
	}
	if r.String() != v.Text {
		t.Errorf("String = %s\nwant %s", r.String(), v.Text)
	}
	if err := r.Verify(); err != nil {
		t.Error(err)
	}
}
