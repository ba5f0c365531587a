package crypto

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// The signature and ECDH functions run on internal/ec. These tests hold
// them to decred's ecdsa package, which they replaced, on random and on
// crafted edge-case inputs: same outputs, same accept/reject decisions.

// decredSign is Sign on decred: its compact format puts 27 + V first.
func decredSign(digest []byte, k *PrivateKey) []byte {
	c := ecdsa.SignCompact(k, digest, false)
	return append(c[1:], c[0]-27)
}

// decredRecover is SigToPub on decred.
func decredRecover(digest, sig []byte) (*PublicKey, error) {
	c := append([]byte{27 + sig[64]}, sig[:64]...)
	p, _, err := ecdsa.RecoverCompact(c, digest)
	return p, err
}

// decredVerify is VerifySignature on decred, with the same framing checks.
func decredVerify(pubkey, digest, sig []byte) bool {
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) || s.IsOverHalfOrder() {
		return false
	}
	key, err := secp256k1.ParsePubKey(pubkey)
	if err != nil {
		return false
	}
	return ecdsa.NewSignature(&r, &s).Verify(digest, key)
}

func decredECDH(k *PrivateKey, p *PublicKey) (out [32]byte) {
	var point, result secp256k1.JacobianPoint
	p.AsJacobian(&point)
	secp256k1.ScalarMultNonConst(&k.Key, &point, &result)
	result.ToAffine()
	result.X.PutBytesUnchecked(out[:])
	return out
}

func diffRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

func randKey(t testing.TB, r *rand.Rand) *PrivateKey {
	var b [32]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	k, err := ToPrivateKey(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randDigest(r *rand.Rand) []byte {
	d := make([]byte, 32)
	for i := range d {
		d[i] = byte(r.Uint32())
	}
	return d
}

func TestSignMatchesDecred(t *testing.T) {
	r := diffRand(1)
	for i := range 300 {
		k, d := randKey(t, r), randDigest(r)
		if i == 0 {
			clear(d) // e = 0
		}
		got, err := Sign(d, k)
		if err != nil {
			t.Fatal(err)
		}
		if want := decredSign(d, k); !bytes.Equal(got, want) {
			t.Fatalf("key %x digest %x:\n got %x\nwant %x", FromPrivateKey(k), d, got, want)
		}
	}
}

// checkRecover compares SigToPub with decred on one input.
func checkRecover(t *testing.T, digest, sig []byte) {
	t.Helper()
	got, err := SigToPub(digest, sig)
	want, werr := decredRecover(digest, sig)
	if (err == nil) != (werr == nil) {
		t.Fatalf("sig %x: err %v, decred err %v", sig, err, werr)
	}
	if err == nil && !got.IsEqual(want) {
		t.Fatalf("sig %x: recovered %x, decred %x", sig, got.SerializeCompressed(), want.SerializeCompressed())
	}
}

func TestSigToPubMatchesDecred(t *testing.T) {
	r := diffRand(2)
	n := secp256k1.Params().N
	for range 300 {
		k, d := randKey(t, r), randDigest(r)
		sig, _ := Sign(d, k)
		checkRecover(t, d, sig)
		// The other parity, high S (N - S, which recovers the same key
		// with the flipped parity), and garbage in each field.
		sig[64] ^= 1
		checkRecover(t, d, sig)
		var s secp256k1.ModNScalar
		s.SetByteSlice(sig[32:64])
		s.Negate()
		s.PutBytesUnchecked(sig[32:64])
		checkRecover(t, d, sig)
		for _, f := range []func([]byte){
			func(b []byte) { b[r.IntN(64)] ^= byte(1 << r.IntN(8)) },
			func(b []byte) { b[64] = byte(r.IntN(4)) },
			func(b []byte) { clear(b[:32]) },
			func(b []byte) { clear(b[32:64]) },
			func(b []byte) { n.FillBytes(b[:32]) },
			func(b []byte) { n.FillBytes(b[32:64]) },
			func(b []byte) {
				for i := range 64 {
					b[i] = byte(r.Uint32())
				}
			},
		} {
			b := bytes.Clone(sig)
			f(b)
			checkRecover(t, d, b)
		}
	}
}

// overflowX returns a point whose X coordinate lies in [n, p): an R of a
// signature that V marks as overflowed (bit 1), and the only X values for
// which verification must compare with r + n. Such points exist, one in
// about 2^128, so they are searched for directly.
func overflowX(t *testing.T, r *rand.Rand) (x, y secp256k1.FieldVal, rModN secp256k1.ModNScalar) {
	n := secp256k1.Params().N
	for range 1000 {
		// n + k < p for any k below p - n, which is about 2^128.
		b := new(big.Int).Add(n, big.NewInt(r.Int64N(1<<32))).FillBytes(make([]byte, 32))
		x.SetByteSlice(b)
		if secp256k1.DecompressY(&x, r.IntN(2) == 1, &y) {
			rModN.SetByteSlice(b) // reduces: r = x - n
			return x, y, rModN
		}
	}
	t.Fatal("no point with X in [n, p) found")
	return
}

func TestOverflowedRMatchesDecred(t *testing.T) {
	r := diffRand(3)
	for range 20 {
		x, y, rr := overflowX(t, r)
		d := randDigest(r)
		var s secp256k1.ModNScalar
		s.SetByteSlice(randDigest(r))
		var sig [65]byte
		rr.PutBytesUnchecked(sig[:32])
		s.PutBytesUnchecked(sig[32:64])
		y.Normalize()
		for v := byte(0); v < 4; v++ {
			sig[64] = v
			checkRecover(t, d, sig[:])
		}

		// Verification where the point's X is r + n: choose the key Q with
		// u1·G + u2·Q = X, that is Q = u2⁻¹·(X - u1·G).
		if s.IsOverHalfOrder() {
			s.Negate()
			s.PutBytesUnchecked(sig[32:64])
		}
		var e, w, u1, u2 secp256k1.ModNScalar
		e.SetByteSlice(d)
		w.InverseValNonConst(&s)
		u1.Mul2(&e, &w).Negate()
		u2.Mul2(&rr, &w).InverseNonConst()
		var X, u1G, diff, Q secp256k1.JacobianPoint
		X.X.Set(&x)
		X.Y.Set(&y)
		X.Z.SetInt(1)
		secp256k1.ScalarBaseMultNonConst(&u1, &u1G)
		secp256k1.AddNonConst(&X, &u1G, &diff)
		diff.ToAffine() // ScalarMultNonConst wants Z = 1
		secp256k1.ScalarMultNonConst(&u2, &diff, &Q)
		Q.ToAffine()
		pub := secp256k1.NewPublicKey(&Q.X, &Q.Y).SerializeUncompressed()
		want := decredVerify(pub, d, sig[:64])
		if !want {
			t.Fatal("crafted r + n signature does not verify on decred")
		}
		if got := VerifySignature(pub, d, sig[:64]); got != want {
			t.Fatalf("VerifySignature = %v, decred %v", got, want)
		}
	}
}

func TestVerifySignatureMatchesDecred(t *testing.T) {
	r := diffRand(4)
	for range 300 {
		k, d := randKey(t, r), randDigest(r)
		sig, _ := Sign(d, k)
		pubs := [][]byte{CompressPubkey(k.PubKey()), MarshalPubkey(k.PubKey()), MarshalPubkey(randKey(t, r).PubKey())}
		for _, pub := range pubs {
			for _, f := range []func([]byte){
				func([]byte) {},
				func(b []byte) { b[r.IntN(64)] ^= byte(1 << r.IntN(8)) },
				func(b []byte) { clear(b[:32]) },
				func(b []byte) { clear(b[32:64]) },
			} {
				b := bytes.Clone(sig[:64])
				f(b)
				if got, want := VerifySignature(pub, d, b), decredVerify(pub, d, b); got != want {
					t.Fatalf("pub %x sig %x: %v, decred %v", pub, b, got, want)
				}
			}
		}
	}
}

func TestECDHMatchesDecred(t *testing.T) {
	r := diffRand(5)
	for range 300 {
		k, p := randKey(t, r), randKey(t, r).PubKey()
		if got, want := ECDH(k, p), decredECDH(k, p); got != want {
			t.Fatalf("ECDH = %x, decred %x", got, want)
		}
	}
	k0, p0 := randKey(t, r), randKey(t, r).PubKey()
	if a := testing.AllocsPerRun(10, func() { ECDH(k0, p0) }); a != 0 {
		t.Errorf("ECDH allocates %v times", a)
	}
	// An unset key (k·P is infinity) gives zero on both.
	var zero PrivateKey
	p := randKey(t, r).PubKey()
	if got, want := ECDH(&zero, p), decredECDH(&zero, p); got != want || got != ([32]byte{}) {
		t.Fatalf("zero key: %x, decred %x", got, want)
	}
	// A key whose coordinates are not on the curve takes decred's path.
	var x, y secp256k1.FieldVal
	x.SetInt(1)
	y.SetInt(1)
	off := secp256k1.NewPublicKey(&x, &y)
	k := randKey(t, r)
	if got, want := ECDH(k, off), decredECDH(k, off); got != want {
		t.Fatalf("off-curve key: %x, decred %x", got, want)
	}
}
