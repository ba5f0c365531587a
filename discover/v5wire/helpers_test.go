package v5wire

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// fromHex decodes hex with or without a 0x prefix, failing the test on bad
// input.
func fromHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func hexKey(tb testing.TB, s string) *crypto.PrivateKey {
	tb.Helper()
	k, err := crypto.ToPrivateKey(fromHex(tb, s))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newKey(tb testing.TB) *crypto.PrivateKey {
	tb.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// signedNode returns key's node with a record of sequence number seq and the
// given entries.
func signedNode(tb testing.TB, key *crypto.PrivateKey, seq uint64, entries ...enr.Entry) *enode.Node {
	tb.Helper()
	var r enr.Record
	for _, e := range entries {
		r.Set(e)
	}
	r.SetSeq(seq)
	if err := enr.SignV4(&r, key); err != nil {
		tb.Fatal(err)
	}
	n, err := enode.New(&r)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// testNode is one side of a conversation in tests: its key, local node,
// session store and codec.
type testNode struct {
	key   *crypto.PrivateKey
	ln    *enode.LocalNode
	store *SessionCache
	c     *Codec
	addr  string // the address others see this node at
}

func newTestNode(tb testing.TB, key *crypto.PrivateKey, addr string) *testNode {
	tb.Helper()
	ln := enode.NewLocalNode(nil, key)
	ap := netip.MustParseAddrPort(addr)
	ln.SetStaticIP(ap.Addr())
	ln.SetFallbackUDP(int(ap.Port()))
	store := NewSessionCache(0, nil)
	return &testNode{key: key, ln: ln, store: store, c: NewCodec(ln, key, store), addr: addr}
}

func (n *testNode) id() enode.ID      { return n.ln.ID() }
func (n *testNode) node() *enode.Node { return n.ln.Node() }

// fixedRandom makes the codec's randomness reproducible: masking IVs are
// zero, message nonces and fillers take the given values.
func (n *testNode) fixedRandom(iv []byte, idNonce []byte, nonce Nonce) {
	n.c.random = func(p randPurpose, b []byte) {
		switch p {
		case randMaskingIV:
			copy(b, iv)
		case randIDNonce:
			copy(b, idNonce)
		case randNonce:
			copy(b, nonce[:])
		default:
			clear(b)
		}
	}
	n.c.newNonce = func(uint32) Nonce { return nonce }
}

// maskHeader masks (or unmasks) the header after the masking IV at the start
// of b for dest.
func maskHeader(b []byte, dest enode.ID) {
	xorMask(b, maskingBlock(dest))
}
