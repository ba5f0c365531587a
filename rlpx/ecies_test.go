package rlpx

import (
	"bytes"
	crand "crypto/rand"
	"errors"
	"testing"

	"github.com/trellis-p2p/trellis/crypto/ecies"
)

// TestECIESInterop checks the handshake's ECIES against crypto/ecies in
// both directions, with and without shared data.
func TestECIESInterop(t *testing.T) {
	key := newKey(t)
	pub, _ := toPoint(key.PubKey())
	for _, s2 := range [][]byte{nil, {0x01, 0x9a}} {
		for _, n := range []int{0, 1, 100, 700} {
			msg := make([]byte, n)
			crand.Read(msg)

			ct, err := eciesEncrypt(crand.Reader, pub, msg, s2)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ecies.Decrypt(key, ct, nil, s2)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("crypto/ecies cannot decrypt ours (len %d, s2 %x): %v", n, s2, err)
			}

			ct, err = ecies.Encrypt(crand.Reader, key.PubKey(), msg, nil, s2)
			if err != nil {
				t.Fatal(err)
			}
			got, err = eciesDecrypt(&key.Key, ct, s2)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("cannot decrypt crypto/ecies (len %d, s2 %x): %v", n, s2, err)
			}

			// Tampering anywhere, or other shared data, fails the MAC.
			for _, i := range []int{eciesPubLen, len(ct) - 1} {
				bad := bytes.Clone(ct)
				bad[i] ^= 1
				if _, err := eciesDecrypt(&key.Key, bad, s2); !errors.Is(err, errECIESMAC) {
					t.Fatalf("tampered byte %d: %v", i, err)
				}
			}
			if _, err := eciesDecrypt(&key.Key, ct, []byte{9}); !errors.Is(err, errECIESMAC) {
				t.Fatalf("wrong shared data: %v", err)
			}
		}
	}
	if _, err := eciesDecrypt(&key.Key, make([]byte, eciesOverhead-1), nil); !errors.Is(err, errECIESShort) {
		t.Fatalf("short ciphertext: %v", err)
	}
	bad := make([]byte, eciesOverhead)
	bad[0] = 0x04
	if _, err := eciesDecrypt(&key.Key, bad, nil); !errors.Is(err, errECIESKey) {
		t.Fatalf("invalid R: %v", err)
	}
}
