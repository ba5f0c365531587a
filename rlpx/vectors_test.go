package rlpx

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/crypto/ecies"
	"github.com/trellis-p2p/trellis/internal/ec"
)

// eip8Vectors is testdata/eip8-handshake.json (EIP-8, "Test Vectors /
// RLPx Handshake").
type eip8Vectors struct {
	Keys struct {
		StaticA    string `json:"static_key_a"`
		StaticB    string `json:"static_key_b"`
		EphemeralA string `json:"ephemeral_key_a"`
		EphemeralB string `json:"ephemeral_key_b"`
		NonceA     string `json:"nonce_a"`
		NonceB     string `json:"nonce_b"`
	} `json:"keys"`
	Auth    []vectorPacket `json:"auth"`
	Ack     []vectorPacket `json:"ack"`
	Secrets []struct {
		Auth       string `json:"auth"`
		Ack        string `json:"ack"`
		AES        string `json:"aes_secret"`
		MAC        string `json:"mac_secret"`
		IngressFoo string `json:"ingress_mac_after_foo"`
	} `json:"expected_secrets"`
}

type vectorPacket struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	Hex    string `json:"hex"`
}

// vectorKeys holds the decoded keys and nonces of the vectors.
type vectorKeys struct {
	staticA, staticB, ephA, ephB *crypto.PrivateKey
	nonceA, nonceB               [nonceLen]byte
}

func loadVectors(t testing.TB) (*eip8Vectors, *vectorKeys) {
	t.Helper()
	data, err := os.ReadFile("testdata/eip8-handshake.json")
	if err != nil {
		t.Fatal(err)
	}
	var v eip8Vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	key := func(s string) *crypto.PrivateKey {
		k, err := crypto.HexToPrivateKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k := &vectorKeys{
		staticA: key(v.Keys.StaticA),
		staticB: key(v.Keys.StaticB),
		ephA:    key(v.Keys.EphemeralA),
		ephB:    key(v.Keys.EphemeralB),
	}
	copy(k.nonceA[:], unhex(t, v.Keys.NonceA))
	copy(k.nonceB[:], unhex(t, v.Keys.NonceB))
	return &v, k
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recipientB is node B of the vectors, ready to receive an auth.
func recipientB(k *vectorKeys) *handshake {
	return &handshake{local: k.staticB, eph: k.ephB, respNonce: k.nonceB}
}

// initiatorA is node A after sending its auth, ready to receive an ack.
func initiatorA(k *vectorKeys) *handshake {
	remote, _ := ec.FromPublicKey(k.staticB.PubKey())
	return &handshake{initiator: true, local: k.staticA, remote: &remote, eph: k.ephA, initNonce: k.nonceA}
}

// readVectorPacket runs format detection on a packet as if it came from the
// network and checks that exactly the packet is consumed.
func readVectorPacket(t *testing.T, packet []byte, legacyLen int) (bool, []byte) {
	t.Helper()
	rb := readBuffer{min: handshakeBufferSize}
	got, eip8, err := readPacket(&rb, bytes.NewReader(packet), legacyLen)
	if err != nil {
		t.Fatalf("readPacket: %v", err)
	}
	if !bytes.Equal(got, packet) {
		t.Fatalf("readPacket returned %d bytes, packet is %d", len(got), len(packet))
	}
	return eip8, got
}

func TestEIP8AuthVectors(t *testing.T) {
	v, k := loadVectors(t)
	wantVersion := map[string]uint64{"auth1": 4, "auth2": 4, "auth3": 56}
	wantECDHE := crypto.ECDH(k.ephB, k.ephA.PubKey())
	for _, p := range v.Auth {
		t.Run(p.Name, func(t *testing.T) {
			eip8, packet := readVectorPacket(t, unhex(t, p.Hex), authV4Len+ecies.Overhead)
			if eip8 != (p.Format == "EIP-8") {
				t.Fatalf("detected eip8=%v for format %q", eip8, p.Format)
			}
			h := recipientB(k)
			if err := h.handleAuth(packet, eip8); err != nil {
				t.Fatalf("handleAuth: %v", err)
			}
			if !h.remote.PublicKey().IsEqual(k.staticA.PubKey()) {
				t.Error("initiator-pubk is not A's static key")
			}
			if h.initNonce != k.nonceA {
				t.Errorf("initiator-nonce %x, want %x", h.initNonce, k.nonceA)
			}
			if h.remoteVersion != wantVersion[p.Name] {
				t.Errorf("auth-vsn %d, want %d", h.remoteVersion, wantVersion[p.Name])
			}
			// The fused recovery + ECDH must equal ECDH with the
			// ephemeral key A actually used.
			if h.ecdhe != wantECDHE {
				t.Errorf("ephemeral shared secret %x, want %x", h.ecdhe, wantECDHE)
			}
		})
	}
}

func TestEIP8AckVectors(t *testing.T) {
	v, k := loadVectors(t)
	wantVersion := map[string]uint64{"ack1": 4, "ack2": 4, "ack3": 57}
	wantECDHE := crypto.ECDH(k.ephA, k.ephB.PubKey())
	for _, p := range v.Ack {
		t.Run(p.Name, func(t *testing.T) {
			eip8, packet := readVectorPacket(t, unhex(t, p.Hex), ackV4Len+ecies.Overhead)
			if eip8 != (p.Format == "EIP-8") {
				t.Fatalf("detected eip8=%v for format %q", eip8, p.Format)
			}
			h := initiatorA(k)
			if err := h.handleAck(packet, eip8); err != nil {
				t.Fatalf("handleAck: %v", err)
			}
			if h.respNonce != k.nonceB {
				t.Errorf("recipient-nonce %x, want %x", h.respNonce, k.nonceB)
			}
			if h.remoteVersion != wantVersion[p.Name] {
				t.Errorf("ack-vsn %d, want %d", h.remoteVersion, wantVersion[p.Name])
			}
			if h.ecdhe != wantECDHE {
				t.Errorf("ephemeral shared secret %x, want %x", h.ecdhe, wantECDHE)
			}
		})
	}
}

// TestEIP8Secrets checks the secrets B derives from (auth2, ack2), and that
// A derives the mirror image.
func TestEIP8Secrets(t *testing.T) {
	v, k := loadVectors(t)
	packets := map[string][]byte{}
	for _, p := range append(v.Auth, v.Ack...) {
		packets[p.Name] = unhex(t, p.Hex)
	}
	for _, want := range v.Secrets {
		auth, ack := packets[want.Auth], packets[want.Ack]
		b := recipientB(k)
		if err := b.handleAuth(auth, true); err != nil {
			t.Fatal(err)
		}
		secB := b.secrets(auth, ack)
		if hex.EncodeToString(secB.AES) != want.AES {
			t.Errorf("aes-secret %x, want %s", secB.AES, want.AES)
		}
		if hex.EncodeToString(secB.MAC) != want.MAC {
			t.Errorf("mac-secret %x, want %s", secB.MAC, want.MAC)
		}
		secB.IngressMAC.Write([]byte("foo"))
		if got := hex.EncodeToString(secB.IngressMAC.Sum(nil)); got != want.IngressFoo {
			t.Errorf("ingress-mac(foo) %s, want %s", got, want.IngressFoo)
		}
		if !secB.remote.IsEqual(k.staticA.PubKey()) {
			t.Error("B's secrets name the wrong remote")
		}

		a := initiatorA(k)
		if err := a.handleAck(ack, true); err != nil {
			t.Fatal(err)
		}
		secA := a.secrets(auth, ack)
		if !bytes.Equal(secA.AES, secB.AES) || !bytes.Equal(secA.MAC, secB.MAC) {
			t.Error("A and B derive different secrets")
		}
		secA.EgressMAC.Write([]byte("foo"))
		if got := hex.EncodeToString(secA.EgressMAC.Sum(nil)); got != want.IngressFoo {
			t.Errorf("A's egress-mac(foo) %s, want B's ingress %s", got, want.IngressFoo)
		}
	}
}
