package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"
)

// A signature from go-ethereum's test suite and the key that made it.
const (
	testMsgHex     = "ce0677bb30baa8cf067c88db9811f4333d131bf8bcf12fe7065d211dce971008"
	testSigHex     = "90f27b8b488db00b00606796d2987f6a5f59ae62ea05effe84fef5b8b0e549984a691139ad57a3f0b906637673aa2f63d1f55cb1a69199d4009eea23ceaddc9301"
	testPubHex     = "04e32df42865e97135acfb65f3bae71bdc86f4d49150ad6a440b6f15878109880a0a2b2667f7e725ceea70c673093bf67663e0312623c8e091b13cf2c0f11ef652"
	testPubCompHex = "02e32df42865e97135acfb65f3bae71bdc86f4d49150ad6a440b6f15878109880a"
)

func TestEcrecoverKnown(t *testing.T) {
	msg, sig, pub := mustHex(t, testMsgHex), mustHex(t, testSigHex), mustHex(t, testPubHex)
	got, err := Ecrecover(msg, sig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pub) {
		t.Fatalf("Ecrecover = %x, want %x", got, pub)
	}
	p, err := SigToPub(msg, sig)
	if err != nil || !bytes.Equal(MarshalPubkey(p), pub) {
		t.Fatalf("SigToPub = %v, %v", p, err)
	}
}

func TestVerifySignatureKnown(t *testing.T) {
	msg, sig := mustHex(t, testMsgHex), mustHex(t, testSigHex)[:64]
	pub, pubc := mustHex(t, testPubHex), mustHex(t, testPubCompHex)
	if !VerifySignature(pub, msg, sig) {
		t.Error("rejects valid signature (uncompressed key)")
	}
	if !VerifySignature(pubc, msg, sig) {
		t.Error("rejects valid signature (compressed key)")
	}
	reject := map[string][3][]byte{
		"nil key":       {nil, msg, sig},
		"nil digest":    {pub, nil, sig},
		"short digest":  {pub, msg[:31], sig},
		"nil sig":       {pub, msg, nil},
		"sig with V":    {pub, msg, mustHex(t, testSigHex)},
		"other digest":  {pub, flip(msg, 0), sig},
		"flipped R":     {pub, msg, flip(sig, 5)},
		"flipped S":     {pub, msg, flip(sig, 40)},
		"wrong key":     {MarshalPubkey(mustKey(t).PubKey()), msg, sig},
		"bad key":       {flip(pub, 64), msg, sig},
		"zero R":        {pub, msg, append(make([]byte, 32), sig[32:]...)},
		"zero S":        {pub, msg, append(bytes.Clone(sig[:32]), make([]byte, 32)...)},
		"R >= N":        {pub, msg, append(mustHex(t, hexN), sig[32:]...)},
		"high S (N-S)":  {pub, msg, highS(t, sig)},
		"S = N":         {pub, msg, append(bytes.Clone(sig[:32]), mustHex(t, hexN)...)},
		"all ones":      {pub, msg, bytes.Repeat([]byte{0xff}, 64)},
		"65-byte key 0": {append([]byte{0}, pub[1:]...), msg, sig},
	}
	for name, c := range reject {
		if VerifySignature(c[0], c[1], c[2]) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// highS returns the malleated twin (R, N-S) of a 64-byte signature.
func highS(t testing.TB, sig []byte) []byte {
	n, _ := new(big.Int).SetString(hexN, 16)
	s := new(big.Int).SetBytes(sig[32:64])
	out := bytes.Clone(sig)
	new(big.Int).Sub(n, s).FillBytes(out[32:64])
	return out
}

func isLowS(sig []byte) bool {
	n, _ := new(big.Int).SetString(hexN, 16)
	halfN := n.Rsh(n, 1)
	return new(big.Int).SetBytes(sig[32:64]).Cmp(halfN) <= 0
}

func flip(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 0x01
	return out
}

func TestSignRecoverVerify(t *testing.T) {
	r := testRand(4)
	for i := 0; i < 64; i++ {
		k, _ := GenerateKeyFrom(r)
		digest := Keccak256([]byte{byte(i)})
		sig, err := Sign(digest, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != SignatureLength || sig[RecoveryIDOffset] > 1 {
			t.Fatalf("bad signature shape %x", sig)
		}
		if !isLowS(sig) {
			t.Fatalf("signature %x is not low-S", sig)
		}
		again, _ := Sign(digest, k)
		if !bytes.Equal(sig, again) {
			t.Fatal("Sign is not deterministic")
		}
		pub := MarshalPubkey(k.PubKey())
		got, err := Ecrecover(digest, sig)
		if err != nil || !bytes.Equal(got, pub) {
			t.Fatalf("Ecrecover = %x, %v; want %x", got, err, pub)
		}
		if !VerifySignature(pub, digest, sig[:64]) || !VerifySignature(CompressPubkey(k.PubKey()), digest, sig[:64]) {
			t.Fatal("VerifySignature rejects a fresh signature")
		}
		// The high-S twin still recovers the same key once V is flipped
		// (as go-ethereum's Ecrecover does), but never verifies.
		twin := append(highS(t, sig[:64]), sig[64]^1)
		if got, err := Ecrecover(digest, twin); err != nil || !bytes.Equal(got, pub) {
			t.Fatalf("high-S twin recovers %x, %v", got, err)
		}
		if VerifySignature(pub, digest, twin[:64]) {
			t.Fatal("VerifySignature accepts high S")
		}
	}
}

// TestSignKnown pins RFC 6979 output against go-ethereum's Sign for its test
// key (go-ethereum with cgo and without produce the same bytes).
func TestSignKnown(t *testing.T) {
	sig, err := Sign(mustHex(t, testMsgHex), mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	// Output of go-ethereum v1.17.10 crypto.Sign, cgo and pure-Go builds alike.
	const want = "9defa1c2b4651bb84078f886927d9437601f2fa7cab434321fee78463415b22501edb8bedea423ceefab7537ca516f25e9a1f24e34adc42ee9377a5d78e8534600"
	if hex.EncodeToString(sig) != want {
		t.Fatalf("Sign = %x, want %s", sig, want)
	}
}

func TestSignInvalid(t *testing.T) {
	k := mustKey(t)
	for _, d := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		if _, err := Sign(d, k); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("digest len %d: err = %v", len(d), err)
		}
	}
	if _, err := Sign(make([]byte, 32), new(PrivateKey)); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("zero key: err = %v", err)
	}
	if _, err := Sign(make([]byte, 32), nil); !errors.Is(err, ErrInvalidPrivateKey) {
		t.Errorf("nil key: err = %v", err)
	}
}

func TestRecoverInvalid(t *testing.T) {
	msg, sig := mustHex(t, testMsgHex), mustHex(t, testSigHex)
	withV := func(v byte) []byte { s := bytes.Clone(sig); s[64] = v; return s }
	p := mustHex(t, hexP)
	cases := map[string]struct {
		digest, sig []byte
		want        error
	}{
		"nil digest":  {nil, sig, ErrInvalidDigest},
		"long digest": {append(bytes.Clone(msg), 0), sig, ErrInvalidDigest},
		"nil sig":     {msg, nil, ErrInvalidSignature},
		"64-byte sig": {msg, sig[:64], ErrInvalidSignature},
		"66-byte sig": {msg, append(bytes.Clone(sig), 0), ErrInvalidSignature},
		"V = 4":       {msg, withV(4), ErrInvalidSignature},
		"V = 27":      {msg, withV(27), ErrInvalidSignature},
		"V = 229":     {msg, withV(229), ErrInvalidSignature},
		"V = 255":     {msg, withV(255), ErrInvalidSignature},
		"zero R":      {msg, append(make([]byte, 32), sig[32:]...), ErrInvalidSignature},
		"zero S":      {msg, append(append(bytes.Clone(sig[:32]), make([]byte, 32)...), 0), ErrInvalidSignature},
		"R = N":       {msg, append(mustHex(t, hexN), sig[32:]...), ErrInvalidSignature},
		"S = N":       {msg, append(append(bytes.Clone(sig[:32]), mustHex(t, hexN)...), 0), ErrInvalidSignature},
		// R+N overflows P for any R this large, so V's overflow bit is bogus.
		"R+N >= P": {msg, append(append(bytes.Clone(p[:32]), sig[32:64]...), 2), ErrInvalidSignature},
		// x = 5 has no point on the curve.
		"R not X": {msg, append(append(mustHex(t, "0000000000000000000000000000000000000000000000000000000000000005"), sig[32:64]...), 0), ErrInvalidSignature},
	}
	for name, c := range cases {
		pub, err := Ecrecover(c.digest, c.sig)
		if !errors.Is(err, c.want) || pub != nil {
			t.Errorf("%s: Ecrecover = %x, %v; want %v", name, pub, err, c.want)
		}
	}
	// V = 1 instead of 0 recovers a different (valid) key, not an error.
	if pub, err := Ecrecover(msg, withV(0)); err != nil || bytes.Equal(pub, mustHex(t, testPubHex)) {
		t.Errorf("flipped V: %x, %v", pub, err)
	}
}

func TestECDH(t *testing.T) {
	r := testRand(5)
	for i := 0; i < 20; i++ {
		a, _ := GenerateKeyFrom(r)
		b, _ := GenerateKeyFrom(r)
		ab, ba := ECDH(a, b.PubKey()), ECDH(b, a.PubKey())
		if ab != ba {
			t.Fatalf("ECDH not symmetric: %x vs %x", ab, ba)
		}
		// Cross-check against decred's own ECDH.
		if want := secpSharedSecret(a, b.PubKey()); !bytes.Equal(ab[:], want) {
			t.Fatalf("ECDH = %x, want %x", ab, want)
		}
	}
	k, _ := GenerateKeyFrom(r)
	if z := ECDH(new(PrivateKey), k.PubKey()); z != [32]byte{} {
		t.Fatalf("ECDH with a zero key = %x, want zeros", z)
	}
}
