package ecies

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"testing"
)

// FuzzEciesDecrypt hands arbitrary ciphertexts and shared data to Decrypt
// with a fixed key: it must fail with a typed error, never panic.
func FuzzEciesDecrypt(f *testing.F) {
	k := testKey(f, 7)
	valid, _ := Encrypt(rand.NewChaCha8([32]byte{8}), k.PubKey(), []byte("hello"), nil, nil)
	f.Add(valid, []byte(nil), []byte(nil))
	f.Add(valid[:Overhead], []byte("s1"), []byte{1, 2})
	f.Add(make([]byte, Overhead+1), []byte(nil), []byte(nil))
	// Pre-EIP-8 auth1 from the EIP-8 vectors, under the wrong key.
	auth1, _ := hex.DecodeString(loadEIP8Auth1(f))
	f.Add(auth1, []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, ct, s1, s2 []byte) {
		msg, err := Decrypt(k, ct, s1, s2)
		if err == nil {
			// Only genuine ciphertexts authenticate; the seed is one.
			if !bytes.Equal(ct, valid) || !bytes.Equal(msg, []byte("hello")) {
				t.Fatalf("forged ciphertext %x decrypted to %x", ct, msg)
			}
			return
		}
		if !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, ErrInvalidPublicKey) && !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzEciesRoundTrip encrypts arbitrary messages and shared data.
func FuzzEciesRoundTrip(f *testing.F) {
	k := testKey(f, 9)
	f.Add([]byte("msg"), []byte(nil), []byte(nil), uint64(1))
	f.Add([]byte{}, []byte("s1"), []byte{0, 1}, uint64(2))
	f.Fuzz(func(t *testing.T, msg, s1, s2 []byte, seed uint64) {
		var s [32]byte
		s[0], s[1], s[2] = byte(seed), byte(seed>>8), byte(seed>>16)
		ct, err := Encrypt(rand.NewChaCha8(s), k.PubKey(), msg, s1, s2)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decrypt(k, ct, s1, s2)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip: %x, %v", got, err)
		}
		if _, err := Decrypt(testKey(t, 10), ct, s1, s2); !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("other key: %v", err)
		}
	})
}

func loadEIP8Auth1(f *testing.F) string {
	data, err := os.ReadFile("../testdata/eip8-handshake.json")
	if err != nil {
		f.Fatal(err)
	}
	var v eip8Vectors
	if err := json.Unmarshal(data, &v); err != nil {
		f.Fatal(err)
	}
	return v.Auth[0].Hex
}
