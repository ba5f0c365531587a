package enrinterop

import (
	"bytes"
	"math/rand/v2"
	"testing"

	genode "github.com/ethereum/go-ethereum/p2p/enode"
	genr "github.com/ethereum/go-ethereum/p2p/enr"
	grlp "github.com/ethereum/go-ethereum/rlp"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// hasMalformedNestedValue reports whether a record go-ethereum decoded holds
// a list value whose inner items are not canonical RLP. go-ethereum takes
// values as opaque once their outer header is valid; Trellis checks them
// all the way down (as its rlp.Stream.Raw does), the one intended
// difference in what the two accept.
func hasMalformedNestedValue(r *genr.Record) bool {
	elems := r.AppendElements(nil)
	for i := 2; i < len(elems); i += 2 {
		var v any
		if err := grlp.DecodeBytes(elems[i].(grlp.RawValue), &v); err != nil {
			return true
		}
	}
	return false
}

// FuzzDiffRecord decodes the same bytes with both libraries: they must
// accept the same records, encode them identically, agree on whether the
// signature verifies, and derive the same node.
func FuzzDiffRecord(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 5))
	for range 20 {
		if r, err := randomSpec(f, rng).trellisRecord(); err == nil {
			raw, _ := r.MarshalBinary()
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var tr enr.Record
		terr := tr.UnmarshalBinary(raw)
		var gr genr.Record
		gerr := grlp.DecodeBytes(raw, &gr)
		switch {
		case terr != nil && gerr != nil:
			return
		case terr == nil && gerr != nil:
			t.Fatalf("Trellis accepts what geth rejects (%v)", gerr)
		case terr != nil && gerr == nil:
			if hasMalformedNestedValue(&gr) {
				return
			}
			t.Fatalf("geth accepts what Trellis rejects (%v)", terr)
		}
		tenc, _ := tr.MarshalBinary()
		genc, _ := grlp.EncodeToBytes(&gr)
		if !bytes.Equal(tenc, raw) || !bytes.Equal(genc, raw) {
			t.Fatalf("re-encoding differs: trellis %x geth %x", tenc, genc)
		}
		tn, terr := enode.New(&tr)
		gn, gerr := genode.New(genode.ValidSchemes, &gr)
		if (terr == nil) != (gerr == nil) {
			t.Fatalf("verification differs: trellis %v, geth %v", terr, gerr)
		}
		if terr == nil {
			compareViews(t, "record", trellisView(tn), gethView(gn))
		}
	})
}

// FuzzDiffParseV4 checks that every enode URL Trellis accepts means the same
// to go-ethereum. Trellis rejects some URLs go-ethereum takes (see
// TestURLDeviations), so only this direction is checked.
func FuzzDiffParseV4(f *testing.F) {
	id := "ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f"
	for _, s := range []string{
		"enode://" + id + "@127.0.0.1:30303",
		"enode://" + id + "@[2001:db8::1]:30303?discport=30301",
		"enode://" + id + "@host.example:1?discport=0",
		"enode://" + id,
		id,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		tn, err := enode.ParseV4(u)
		if err != nil {
			return
		}
		gn, err := genode.ParseV4(u)
		if err != nil {
			t.Fatalf("geth rejects %q: %v", u, err)
		}
		if got, want := trellisURLView(tn), gethURLView(gn); got != want {
			t.Fatalf("%q:\ntrellis %+v\ngeth    %+v", u, got, want)
		}
	})
}
