package ecies

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
)

// eip8Vectors is crypto/testdata/eip8-handshake.json (EIP-8, "Test Vectors /
// RLPx Handshake").
type eip8Vectors struct {
	Keys map[string]string `json:"keys"`
	Auth []eip8Packet      `json:"auth"`
	Ack  []eip8Packet      `json:"ack"`
}

type eip8Packet struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	Hex    string `json:"hex"`
}

func loadEIP8(t *testing.T) *eip8Vectors {
	t.Helper()
	data, err := os.ReadFile("../testdata/eip8-handshake.json")
	if err != nil {
		t.Fatal(err)
	}
	var v eip8Vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Auth) != 3 || len(v.Ack) != 3 {
		t.Fatalf("want 3 auth and 3 ack packets, have %d and %d", len(v.Auth), len(v.Ack))
	}
	return &v
}

func (v *eip8Vectors) key(t *testing.T, name string) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.HexToPrivateKey(v.Keys[name])
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return k
}

func (v *eip8Vectors) bytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(v.Keys[name])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openPacket strips the EIP-8 size prefix, which is authenticated as s2
// (rlpx.md: auth = auth-size || enc-auth-body, with auth-size as shared MAC
// data), and decrypts.
func openPacket(t *testing.T, k *crypto.PrivateKey, p eip8Packet) []byte {
	t.Helper()
	wire, err := hex.DecodeString(p.Hex)
	if err != nil {
		t.Fatal(err)
	}
	var ct, s2 []byte
	if p.Format == "EIP-8" {
		s2, ct = wire[:2], wire[2:]
		if int(binary.BigEndian.Uint16(s2)) != len(ct) {
			t.Fatalf("%s: size prefix %d, ciphertext %d bytes", p.Name, binary.BigEndian.Uint16(s2), len(ct))
		}
	} else {
		ct = wire
	}
	msg, err := Decrypt(k, ct, nil, s2)
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	if len(msg) != len(ct)-Overhead {
		t.Fatalf("%s: plaintext %d bytes from %d-byte ciphertext", p.Name, len(msg), len(ct))
	}
	// For EIP-8 packets the prefix is bound to the MAC: any other value fails.
	if s2 != nil {
		if _, err := Decrypt(k, ct, nil, []byte{s2[0], s2[1] ^ 1}); !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("%s: altered size prefix: err = %v", p.Name, err)
		}
		if _, err := Decrypt(k, ct, nil, nil); !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("%s: missing size prefix: err = %v", p.Name, err)
		}
	}
	return msg
}

// rlpItems splits the leading byte strings of the RLP list in msg, enough to
// reach the handshake fields. It is deliberately minimal: test vectors only.
func rlpItems(t *testing.T, msg []byte, n int) [][]byte {
	t.Helper()
	switch {
	case msg[0] >= 0xf8:
		ll := int(msg[0] - 0xf7)
		msg = msg[1+ll:]
	case msg[0] >= 0xc0:
		msg = msg[1:]
	default:
		t.Fatalf("plaintext does not start with an RLP list: %x", msg[:4])
	}
	var items [][]byte
	for len(items) < n {
		b := msg[0]
		var size, hdr int
		switch {
		case b < 0x80:
			size, hdr = 1, 0
		case b < 0xb8:
			size, hdr = int(b-0x80), 1
		case b == 0xb8:
			size, hdr = int(msg[1]), 2
		default:
			t.Fatalf("unexpected RLP prefix %#x", b)
		}
		items = append(items, msg[hdr:hdr+size])
		msg = msg[hdr+size:]
	}
	return items
}

// checkAuthSignature verifies the handshake signature the way the recipient
// does: it signs static-shared-secret ^ nonce with the initiator's ephemeral
// key (rlpx.md "Initial Handshake").
func checkAuthSignature(t *testing.T, v *eip8Vectors, name string, sig, pubA, nonce []byte) {
	t.Helper()
	kB := v.key(t, "static_key_b")
	staticA, err := crypto.UnmarshalPubkey(append([]byte{4}, pubA...))
	if err != nil {
		t.Fatalf("%s: initiator key: %v", name, err)
	}
	shared := crypto.ECDH(kB, staticA)
	digest := make([]byte, 32)
	for i := range digest {
		digest[i] = shared[i] ^ nonce[i]
	}
	eph, err := crypto.Ecrecover(digest, sig)
	if err != nil {
		t.Fatalf("%s: recover: %v", name, err)
	}
	want := crypto.MarshalPubkey(v.key(t, "ephemeral_key_a").PubKey())
	if !bytes.Equal(eph, want) {
		t.Fatalf("%s: signature recovers %x, want A's ephemeral key %x", name, eph, want)
	}
}

func TestDecryptEIP8Auth(t *testing.T) {
	v := loadEIP8(t)
	kB := v.key(t, "static_key_b")
	pubA := crypto.MarshalPubkey(v.key(t, "static_key_a").PubKey())[1:]
	ephA := crypto.MarshalPubkey(v.key(t, "ephemeral_key_a").PubKey())[1:]
	nonceA := v.bytes(t, "nonce_a")
	for _, p := range v.Auth {
		msg := openPacket(t, kB, p)
		var sig, pub, nonce []byte
		if p.Format == "EIP-8" {
			items := rlpItems(t, msg, 4)
			sig, pub, nonce = items[0], items[1], items[2]
		} else {
			// sig || keccak256(ephemeral-pubk) || pubk || nonce || 0x00
			if len(msg) != 65+32+64+32+1 || msg[len(msg)-1] != 0 {
				t.Fatalf("%s: plaintext %x", p.Name, msg)
			}
			sig, pub, nonce = msg[:65], msg[97:161], msg[161:193]
			if got := crypto.Keccak256(ephA); !bytes.Equal(msg[65:97], got) {
				t.Fatalf("%s: ephemeral key hash %x, want %x", p.Name, msg[65:97], got)
			}
		}
		if !bytes.Equal(pub, pubA) {
			t.Fatalf("%s: initiator key %x, want %x", p.Name, pub, pubA)
		}
		if !bytes.Equal(nonce, nonceA) {
			t.Fatalf("%s: nonce %x, want %x", p.Name, nonce, nonceA)
		}
		checkAuthSignature(t, v, p.Name, sig, pub, nonce)
	}
}

func TestDecryptEIP8Ack(t *testing.T) {
	v := loadEIP8(t)
	kA := v.key(t, "static_key_a")
	ephB := crypto.MarshalPubkey(v.key(t, "ephemeral_key_b").PubKey())[1:]
	nonceB := v.bytes(t, "nonce_b")
	for _, p := range v.Ack {
		msg := openPacket(t, kA, p)
		var eph, nonce []byte
		if p.Format == "EIP-8" {
			items := rlpItems(t, msg, 3)
			eph, nonce = items[0], items[1]
		} else {
			// ephemeral-pubk || nonce || 0x00
			if len(msg) != 64+32+1 || msg[len(msg)-1] != 0 {
				t.Fatalf("%s: plaintext %x", p.Name, msg)
			}
			eph, nonce = msg[:64], msg[64:96]
		}
		if !bytes.Equal(eph, ephB) {
			t.Fatalf("%s: ephemeral key %x, want %x", p.Name, eph, ephB)
		}
		if !bytes.Equal(nonce, nonceB) {
			t.Fatalf("%s: nonce %x, want %x", p.Name, nonce, nonceB)
		}
	}
	// The wrong recipient key cannot open an ack.
	ack, _ := hex.DecodeString(v.Ack[0].Hex)
	if _, err := Decrypt(v.key(t, "static_key_b"), ack, nil, nil); !errors.Is(err, ErrMACMismatch) {
		t.Fatalf("wrong key: err = %v", err)
	}
}

func testKey(t testing.TB, seed byte) *crypto.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKeyFrom(rand.NewChaCha8([32]byte{seed}))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	k := testKey(t, 1)
	rng := rand.NewChaCha8([32]byte{2})
	for _, size := range []int{0, 1, 15, 16, 17, 194, 1000, 65535} {
		msg := make([]byte, size)
		rng.Read(msg)
		for _, shared := range [][2][]byte{{nil, nil}, {[]byte("s1"), nil}, {nil, []byte{0x01, 0xb3}}, {[]byte("kdf"), []byte("mac")}} {
			s1, s2 := shared[0], shared[1]
			ct, err := Encrypt(rng, k.PubKey(), msg, s1, s2)
			if err != nil {
				t.Fatal(err)
			}
			if len(ct) != len(msg)+Overhead || ct[0] != 4 {
				t.Fatalf("ciphertext of %d bytes is %d bytes, prefix %#x", size, len(ct), ct[0])
			}
			got, err := Decrypt(k, ct, s1, s2)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("size %d, s1=%q s2=%q: Decrypt = %v", size, s1, s2, err)
			}
			// s1 and s2 are both bound: swapping or dropping either fails.
			for _, alt := range [][2][]byte{{s2, s1}, {append(bytes.Clone(s1), 0), s2}, {s1, append(bytes.Clone(s2), 0)}} {
				if bytes.Equal(alt[0], s1) && bytes.Equal(alt[1], s2) {
					continue
				}
				if _, err := Decrypt(k, ct, alt[0], alt[1]); !errors.Is(err, ErrMACMismatch) {
					t.Fatalf("s1=%q s2=%q accepted for s1=%q s2=%q: %v", alt[0], alt[1], s1, s2, err)
				}
			}
		}
	}
	// Two encryptions of one message differ (fresh ephemeral key and IV).
	a, _ := Encrypt(rng, k.PubKey(), []byte("x"), nil, nil)
	b, _ := Encrypt(rng, k.PubKey(), []byte("x"), nil, nil)
	if bytes.Equal(a, b) {
		t.Fatal("Encrypt is deterministic")
	}
}

// TestTamper flips every bit of a ciphertext: each must fail with a typed
// error, and only the key prefix may fail with anything but ErrMACMismatch.
func TestTamper(t *testing.T) {
	k := testKey(t, 3)
	s2 := []byte{0, 42}
	ct, err := Encrypt(rand.NewChaCha8([32]byte{4}), k.PubKey(), []byte("handshake body that is long enough"), []byte("s1"), s2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		for bit := 0; bit < 8; bit++ {
			bad := bytes.Clone(ct)
			bad[i] ^= 1 << bit
			msg, err := Decrypt(k, bad, []byte("s1"), s2)
			if msg != nil {
				t.Fatalf("byte %d bit %d: decrypted", i, bit)
			}
			switch {
			case errors.Is(err, ErrMACMismatch):
			case i < pubLen && errors.Is(err, ErrInvalidPublicKey):
			default:
				t.Fatalf("byte %d bit %d: err = %v", i, bit, err)
			}
		}
	}
	for n := 0; n < len(ct); n++ {
		_, err := Decrypt(k, ct[:n], []byte("s1"), s2)
		switch {
		case n < Overhead && errors.Is(err, ErrInvalidMessage):
		case n >= Overhead && (errors.Is(err, ErrMACMismatch) || errors.Is(err, ErrInvalidPublicKey)):
		default:
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
	}
}

func TestInvalidInputs(t *testing.T) {
	k := testKey(t, 5)
	valid, _ := Encrypt(rand.NewChaCha8([32]byte{6}), k.PubKey(), nil, nil, nil)
	withPrefix := func(b byte) []byte { c := bytes.Clone(valid); c[0] = b; return c }
	cases := map[string]struct {
		ct   []byte
		want error
	}{
		"nil":             {nil, ErrInvalidMessage},
		"one byte":        {[]byte{4}, ErrInvalidMessage},
		"overhead - 1":    {valid[:Overhead-1], ErrInvalidMessage},
		"compressed R 02": {withPrefix(2), ErrInvalidPublicKey},
		"hybrid R 06":     {withPrefix(6), ErrInvalidPublicKey},
		"zero R":          {append(append([]byte{4}, make([]byte, 64)...), valid[pubLen:]...), ErrInvalidPublicKey},
		"R off curve":     {func() []byte { c := bytes.Clone(valid); c[64] ^= 1; return c }(), ErrInvalidPublicKey},
		"all zero":        {make([]byte, Overhead), ErrInvalidPublicKey},
	}
	for name, c := range cases {
		if _, err := Decrypt(k, c.ct, nil, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	// The empty message is legal and round-trips.
	if msg, err := Decrypt(k, valid, nil, nil); err != nil || len(msg) != 0 {
		t.Fatalf("empty message: %x, %v", msg, err)
	}
	if _, err := Decrypt(nil, valid, nil, nil); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("nil key: err = %v", err)
	}
	if _, err := Decrypt(new(crypto.PrivateKey), valid, nil, nil); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("zero key: err = %v", err)
	}
	if _, err := Encrypt(rand.NewChaCha8([32]byte{}), nil, nil, nil, nil); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("nil recipient: err = %v", err)
	}
	if _, err := Encrypt(bytes.NewReader(make([]byte, 40)), k.PubKey(), nil, nil, nil); err == nil {
		t.Error("Encrypt succeeded with exhausted randomness")
	}
}
