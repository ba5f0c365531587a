package ecies

import (
	"crypto/rand"
	"testing"
)

// An EIP-8 auth body is a few hundred bytes; 307 is the pre-EIP-8 auth size.
const benchMsgSize = 307 - Overhead

func BenchmarkEncrypt(b *testing.B) {
	pub := testKey(b, 11).PubKey()
	msg := make([]byte, benchMsgSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(rand.Reader, pub, msg, nil, []byte{1, 2}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k := testKey(b, 12)
	ct, err := Encrypt(rand.Reader, k.PubKey(), make([]byte, benchMsgSize), nil, []byte{1, 2})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decrypt(k, ct, nil, []byte{1, 2}); err != nil {
			b.Fatal(err)
		}
	}
}
