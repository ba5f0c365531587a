package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func FuzzParseNodeKey(f *testing.F) {
	f.Add([]byte(testPrivHex))
	f.Add([]byte(testPrivHex + "\r\n"))
	f.Add([]byte(testPrivHex + "\n\n\n"))
	f.Add([]byte("0x" + testPrivHex))
	f.Add([]byte(strings.Repeat("0", 64)))
	f.Add([]byte(hexN))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseNodeKey(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidKeyFile) && !errors.Is(err, ErrInvalidPrivateKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Accepted: exactly 64 hex digits of a valid key, then at most two
		// line-end bytes.
		if !strings.EqualFold(hex.EncodeToString(FromPrivateKey(k)), string(data[:64])) {
			t.Fatalf("key %x from %q", FromPrivateKey(k), data)
		}
		if tail := data[64:]; len(tail) > 2 || strings.Trim(string(tail), "\r\n") != "" {
			t.Fatalf("accepted trailer %q", tail)
		}
	})
}

func FuzzUnmarshalPubkey(f *testing.F) {
	f.Add(mustHex(f, testPubHex))
	f.Add(append([]byte{4}, make([]byte, 64)...))
	f.Add(mustHex(f, testPubCompHex))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := UnmarshalPubkey(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidPubkey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(MarshalPubkey(p), data) {
			t.Fatalf("round trip %x -> %x", data, MarshalPubkey(p))
		}
		q, err := DecompressPubkey(CompressPubkey(p))
		if err != nil || !q.IsEqual(p) {
			t.Fatalf("compress/decompress of %x: %v", data, err)
		}
	})
}

func FuzzDecompressPubkey(f *testing.F) {
	f.Add(mustHex(f, testPubCompHex))
	f.Add(append([]byte{3}, mustHex(f, hexP)...))
	f.Add(append([]byte{2}, make([]byte, 32)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecompressPubkey(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidPubkey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(CompressPubkey(p), data) {
			t.Fatalf("round trip %x -> %x", data, CompressPubkey(p))
		}
		if _, err := UnmarshalPubkey(MarshalPubkey(p)); err != nil {
			t.Fatalf("decompressed key %x does not re-parse: %v", data, err)
		}
	})
}

// FuzzRecover feeds arbitrary digests and signatures to Ecrecover. Whatever
// it recovers must be a valid key under which the signature verifies unless
// S is high (VerifySignature's malleability rule).
func FuzzRecover(f *testing.F) {
	f.Add(mustHex(f, testMsgHex), mustHex(f, testSigHex))
	f.Add(make([]byte, 32), make([]byte, 65))
	f.Add(mustHex(f, testMsgHex), append(highS(f, mustHex(f, testSigHex)[:64]), 0))
	f.Fuzz(func(t *testing.T, digest, sig []byte) {
		pub, err := Ecrecover(digest, sig)
		// Recovery runs on internal/ec: it must agree with decred's.
		if len(digest) == DigestLength && len(sig) == SignatureLength && sig[64] <= maxRecoveryID {
			want, werr := decredRecover(digest, sig)
			if (err == nil) != (werr == nil) || err == nil && !bytes.Equal(pub, want.SerializeUncompressed()) {
				t.Fatalf("Ecrecover = %x, %v; decred %v", pub, err, werr)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrInvalidDigest) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := UnmarshalPubkey(pub); err != nil {
			t.Fatalf("recovered invalid key %x: %v", pub, err)
		}
		if VerifySignature(pub, digest, sig[:64]) != isLowS(sig) {
			t.Fatalf("recovered %x but VerifySignature disagrees (low S: %v)", pub, isLowS(sig))
		}
	})
}
