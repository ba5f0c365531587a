package v5wire

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// wireVectors mirrors testdata/wire-vectors.json, the devp2p
// discv5-wire-test-vectors.md values.
type wireVectors struct {
	Keys struct {
		NodeA string `json:"node-a-key"`
		NodeB string `json:"node-b-key"`
	} `json:"keys"`
	Packets []struct {
		Name   string `json:"name"`
		Flag   int    `json:"flag"`
		Inputs struct {
			SrcID      string `json:"src-node-id"`
			DestID     string `json:"dest-node-id"`
			Nonce      string `json:"nonce"`
			ReadKey    string `json:"read-key"`
			PingReqID  string `json:"ping.req-id"`
			PingENRSeq uint64 `json:"ping.enr-seq"`
			whoareyouInputs
		} `json:"inputs"`
		Handshake *struct {
			whoareyouInputs
			EphemeralKey    string `json:"ephemeral-key"`
			EphemeralPubkey string `json:"ephemeral-pubkey"`
		} `json:"handshake_inputs"`
		Encoded string `json:"encoded"`
	} `json:"packets"`
	Crypto struct {
		ECDH struct {
			Inputs struct {
				PublicKey string `json:"public-key"`
				SecretKey string `json:"secret-key"`
			} `json:"inputs"`
			Expected struct {
				SharedSecret string `json:"shared-secret"`
			} `json:"expected"`
		} `json:"ecdh"`
		KeyDerivation struct {
			Inputs struct {
				EphemeralKey  string `json:"ephemeral-key"`
				DestPubkey    string `json:"dest-pubkey"`
				NodeIDA       string `json:"node-id-a"`
				NodeIDB       string `json:"node-id-b"`
				ChallengeData string `json:"challenge-data"`
			} `json:"inputs"`
			Expected struct {
				InitiatorKey string `json:"initiator-key"`
				RecipientKey string `json:"recipient-key"`
			} `json:"expected"`
		} `json:"key_derivation"`
		IDNonceSigning struct {
			Inputs struct {
				StaticKey       string `json:"static-key"`
				ChallengeData   string `json:"challenge-data"`
				EphemeralPubkey string `json:"ephemeral-pubkey"`
				NodeIDB         string `json:"node-id-B"`
			} `json:"inputs"`
			Expected struct {
				IDSignature string `json:"id-signature"`
			} `json:"expected"`
		} `json:"id_nonce_signing"`
		AESGCM struct {
			Inputs struct {
				Key   string `json:"encryption-key"`
				Nonce string `json:"nonce"`
				PT    string `json:"pt"`
				AD    string `json:"ad"`
			} `json:"inputs"`
			Expected struct {
				Ciphertext string `json:"message-ciphertext"`
			} `json:"expected"`
		} `json:"aes_gcm"`
	} `json:"crypto"`
}

type whoareyouInputs struct {
	ChallengeData string `json:"whoareyou.challenge-data"`
	RequestNonce  string `json:"whoareyou.request-nonce"`
	IDNonce       string `json:"whoareyou.id-nonce"`
	ENRSeq        uint64 `json:"whoareyou.enr-seq"`
}

func loadVectors(tb testing.TB) *wireVectors {
	tb.Helper()
	data, err := os.ReadFile("testdata/wire-vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v wireVectors
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	if len(v.Packets) != 4 {
		tb.Fatalf("want 4 packet vectors, have %d", len(v.Packets))
	}
	return &v
}

func TestVectorECDH(t *testing.T) {
	v := loadVectors(t).Crypto.ECDH
	pub, err := crypto.DecompressPubkey(fromHex(t, v.Inputs.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	got := ecdh(hexKey(t, v.Inputs.SecretKey), pub)
	if want := fromHex(t, v.Expected.SharedSecret); !bytes.Equal(got[:], want) {
		t.Fatalf("shared secret\n got %x\nwant %x", got, want)
	}
}

func TestVectorKeyDerivation(t *testing.T) {
	v := loadVectors(t).Crypto.KeyDerivation
	eph := hexKey(t, v.Inputs.EphemeralKey)
	dest, err := crypto.DecompressPubkey(fromHex(t, v.Inputs.DestPubkey))
	if err != nil {
		t.Fatal(err)
	}
	idA := enode.ID(fromHex(t, v.Inputs.NodeIDA))
	idB := enode.ID(fromHex(t, v.Inputs.NodeIDB))
	cdata := fromHex(t, v.Inputs.ChallengeData)
	ik, rk := deriveKeys(eph, dest, idA, idB, cdata)
	if want := fromHex(t, v.Expected.InitiatorKey); !bytes.Equal(ik[:], want) {
		t.Errorf("initiator-key\n got %x\nwant %x", ik, want)
	}
	if want := fromHex(t, v.Expected.RecipientKey); !bytes.Equal(rk[:], want) {
		t.Errorf("recipient-key\n got %x\nwant %x", rk, want)
	}
}

func TestVectorIDNonceSigning(t *testing.T) {
	v := loadVectors(t).Crypto.IDNonceSigning
	key := hexKey(t, v.Inputs.StaticKey)
	cdata := fromHex(t, v.Inputs.ChallengeData)
	eph := fromHex(t, v.Inputs.EphemeralPubkey)
	idB := enode.ID(fromHex(t, v.Inputs.NodeIDB))
	want := fromHex(t, v.Expected.IDSignature)

	sig := makeIDSignature(key, cdata, eph, idB)
	if !bytes.Equal(sig[:], want) {
		t.Errorf("id-signature\n got %x\nwant %x", sig, want)
	}
	// And in reverse: the published signature verifies, a changed input not.
	if !verifyIDSignature(key.PubKey(), want, cdata, eph, idB) {
		t.Error("published signature does not verify")
	}
	cdata[len(cdata)-1] ^= 1
	if verifyIDSignature(key.PubKey(), want, cdata, eph, idB) {
		t.Error("signature verifies over changed challenge data")
	}
}

func TestVectorAESGCM(t *testing.T) {
	v := loadVectors(t).Crypto.AESGCM
	key := [keySize]byte(fromHex(t, v.Inputs.Key))
	nonce, pt, ad := fromHex(t, v.Inputs.Nonce), fromHex(t, v.Inputs.PT), fromHex(t, v.Inputs.AD)
	want := fromHex(t, v.Expected.Ciphertext)
	gcm := newGCM(&key)
	ct := gcm.Seal(nil, nonce, pt, ad)
	if !bytes.Equal(ct, want) {
		t.Fatalf("ciphertext\n got %x\nwant %x", ct, want)
	}
	back, err := gcm.Open(nil, nonce, ct, ad)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("open: %x, %v", back, err)
	}
}

// vectorNodes sets up node A (sender of every packet vector) and node B (the
// destination) with the published keys.
func vectorNodes(t *testing.T, v *wireVectors) (a, b *testNode) {
	a = newTestNode(t, hexKey(t, v.Keys.NodeA), "127.0.0.1:30301")
	b = newTestNode(t, hexKey(t, v.Keys.NodeB), "127.0.0.1:30302")
	return a, b
}

func TestVectorPackets(t *testing.T) {
	v := loadVectors(t)
	for _, pv := range v.Packets {
		t.Run(pv.Name, func(t *testing.T) {
			a, b := vectorNodes(t, v)
			in := pv.Inputs
			if a.id() != enode.ID(fromHex(t, in.SrcID)) || b.id() != enode.ID(fromHex(t, in.DestID)) {
				t.Fatal("node IDs of the keys do not match the vector")
			}
			encoded := fromHex(t, pv.Encoded)
			var nonce Nonce
			if in.Nonce != "" {
				nonce = Nonce(fromHex(t, in.Nonce))
			}
			ping := &Ping{ReqID: fromHex(t, in.PingReqID), ENRSeq: in.PingENRSeq}
			zeroIV := make([]byte, maskingIVSize)

			var (
				enc   []byte
				err   error
				wantP Packet
				wantN *enode.Node
				wantS = a.id()
			)
			switch pv.Flag {
			case 0:
				key := [keySize]byte(fromHex(t, in.ReadKey))
				a.store.StoreSession(b.id(), b.addr, newSession(b.node(), key, key, true))
				b.store.StoreSession(a.id(), a.addr, newSession(a.node(), key, key, false))
				a.fixedRandom(zeroIV, nil, nonce)
				enc, _, err = a.c.Encode(b.id(), b.addr, ping, nil)
				wantP = ping
			case 1:
				w := &Whoareyou{Nonce: Nonce(fromHex(t, in.RequestNonce)), RecordSeq: in.ENRSeq}
				a.fixedRandom(zeroIV, fromHex(t, in.IDNonce), Nonce{})
				enc, _, err = a.c.Encode(b.id(), b.addr, w, nil)
				if !bytes.Equal(w.ChallengeData, fromHex(t, in.ChallengeData)) {
					t.Errorf("ChallengeData\n got %x\nwant %s", w.ChallengeData, in.ChallengeData)
				}
				wantP = &Whoareyou{Nonce: w.Nonce, IDNonce: w.IDNonce, RecordSeq: w.RecordSeq, ChallengeData: w.ChallengeData}
				wantS = enode.ID{}
			case 2:
				hs := pv.Handshake
				// A's record, as the packet with ENR carries it: seq 1,
				// ip 127.0.0.1 and the key.
				aNode := signedNode(t, a.key, 1, enr.IPv4(netip.MustParseAddr("127.0.0.1")))
				a.c.localNode = func() *enode.Node { return aNode }
				a.c.ephemeralKey = func() (*crypto.PrivateKey, error) { return hexKey(t, hs.EphemeralKey), nil }
				a.fixedRandom(zeroIV, nil, nonce)
				cdata := fromHex(t, hs.ChallengeData)
				challenge := &Whoareyou{
					Nonce:         Nonce(fromHex(t, hs.RequestNonce)),
					IDNonce:       [16]byte(fromHex(t, hs.IDNonce)),
					RecordSeq:     hs.ENRSeq,
					ChallengeData: cdata,
					Node:          b.node(),
				}
				enc, _, err = a.c.Encode(b.id(), b.addr, ping, challenge)
				// B sent that challenge, knowing A's record unless enr-seq is 0.
				bChallenge := *challenge
				bChallenge.Node = nil
				if hs.ENRSeq > 0 {
					bChallenge.Node = aNode
				}
				b.store.StoreChallenge(a.id(), a.addr, &bChallenge)
				wantP, wantN = ping, aNode

				s := a.store.Session(b.id(), b.addr)
				if s == nil {
					t.Fatal("handshake did not store a session")
				}
				if want := fromHex(t, in.ReadKey); !bytes.Equal(s.writeKey[:], want) {
					t.Errorf("initiator key\n got %x\nwant %x", s.writeKey, want)
				}
			}
			if err != nil {
				t.Fatal("encode:", err)
			}
			if !bytes.Equal(enc, encoded) {
				t.Errorf("encoding mismatch\n got %x\nwant %x", enc, encoded)
			}

			// B decodes the published packet.
			src, n, p, err := b.c.Decode(encoded, a.addr)
			if err != nil {
				t.Fatal("decode:", err)
			}
			if src != wantS {
				t.Errorf("src %v, want %v", src, wantS)
			}
			if !reflect.DeepEqual(p, wantP) {
				t.Errorf("packet %#v, want %#v", p, wantP)
			}
			if (n == nil) != (wantN == nil) || n != nil && (n.ID() != wantN.ID() || n.Seq() != wantN.Seq()) {
				t.Errorf("node %v, want %v", n, wantN)
			}
			if pv.Flag == 2 {
				s := b.store.Session(a.id(), a.addr)
				if s == nil || !bytes.Equal(s.readKey[:], fromHex(t, in.ReadKey)) {
					t.Errorf("B's session after handshake: %+v", s)
				}
			}
		})
	}
}
