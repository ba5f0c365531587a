package enrinterop

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	genode "github.com/ethereum/go-ethereum/p2p/enode"
	genr "github.com/ethereum/go-ethereum/p2p/enr"
	grlp "github.com/ethereum/go-ethereum/rlp"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

const recordRounds = 1000

// TestTrellisRecordsInGeth signs random records with Trellis and checks
// that go-ethereum decodes and verifies them to the same node.
func TestTrellisRecordsInGeth(t *testing.T) {
	rng := rand.New(rand.NewPCG(778, 1))
	for i := 0; i < recordRounds; {
		spec := randomSpec(t, rng)
		r, err := spec.trellisRecord()
		if errors.Is(err, enr.ErrTooBig) {
			continue // the random extras did not fit; draw again
		}
		if err != nil {
			t.Fatal(err)
		}
		i++
		raw, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		tn, err := enode.New(r)
		if err != nil {
			t.Fatalf("Trellis rejects its own record: %v", err)
		}

		var gr genr.Record
		if err := grlp.DecodeBytes(raw, &gr); err != nil {
			t.Fatalf("geth cannot decode %x: %v", raw, err)
		}
		gn, err := genode.New(genode.ValidSchemes, &gr)
		if err != nil {
			t.Fatalf("geth rejects %x: %v", raw, err)
		}
		genc, err := grlp.EncodeToBytes(&gr)
		if err != nil || !bytes.Equal(genc, raw) {
			t.Fatalf("geth re-encodes differently: %x, %v", genc, err)
		}
		// Text forms parse to the same node on the other side.
		gn2, err := genode.Parse(genode.ValidSchemes, tn.String())
		if err != nil || gn2.ID() != genode.ID(tn.ID()) {
			t.Fatalf("geth Parse of %s: %v", tn.String(), err)
		}
		compareViews(t, "trellis record", trellisView(tn), gethView(gn))
	}
}

// TestGethRecordsInTrellis signs random records with go-ethereum and checks
// that Trellis decodes and verifies them to the same node.
func TestGethRecordsInTrellis(t *testing.T) {
	rng := rand.New(rand.NewPCG(778, 2))
	for i := 0; i < recordRounds; {
		spec := randomSpec(t, rng)
		gr, err := spec.gethRecord(t)
		if err != nil {
			continue // too big for geth as well; draw again
		}
		i++
		raw, err := grlp.EncodeToBytes(gr)
		if err != nil {
			t.Fatal(err)
		}
		gn, err := genode.New(genode.ValidSchemes, gr)
		if err != nil {
			t.Fatal(err)
		}

		var r enr.Record
		if err := r.UnmarshalBinary(raw); err != nil {
			t.Fatalf("Trellis cannot decode %x: %v", raw, err)
		}
		var sr enr.Record
		if err := rlp.DecodeBytes(raw, &sr); err != nil {
			t.Fatalf("Trellis cannot stream-decode %x: %v", raw, err)
		}
		tn, err := enode.New(&r)
		if err != nil {
			t.Fatalf("Trellis rejects %x: %v", raw, err)
		}
		enc, err := r.MarshalBinary()
		if err != nil || !bytes.Equal(enc, raw) {
			t.Fatalf("Trellis re-encodes differently: %x, %v", enc, err)
		}
		tn2, err := enode.Parse(gn.String())
		if err != nil || tn2.ID() != tn.ID() {
			t.Fatalf("Trellis Parse of %s: %v", gn.String(), err)
		}
		compareViews(t, "geth record", trellisView(tn), gethView(gn))

		// Same content signed by both gives the same bytes: both sign
		// deterministically (RFC 6979).
		tr, err := spec.trellisRecord()
		if err != nil {
			t.Fatal(err)
		}
		if tenc, _ := tr.MarshalBinary(); !bytes.Equal(tenc, raw) {
			t.Fatalf("same content, different records:\ntrellis %x\ngeth    %x", tenc, raw)
		}
	}
}

// TestSignNullInterop checks that "null" scheme test records, as go-ethereum
// builds them for simulations, mean the same to Trellis.
func TestSignNullInterop(t *testing.T) {
	rng := rand.New(rand.NewPCG(778, 3))
	for range 50 {
		spec := randomSpec(t, rng)
		var id [32]byte
		chachaReader{rng}.Read(id[:])
		gr, err := spec.gethRecord(t)
		if err != nil {
			continue
		}
		gn := genode.SignNull(gr, id)
		rec, err := enr.ParseText(gn.String())
		if err != nil {
			t.Fatal(err)
		}
		tn, err := enode.NewWithSchemes(enode.TestSchemes(), rec)
		if err != nil {
			t.Fatal(err)
		}
		if tn.ID() != id || tn.String() != gn.String() {
			t.Fatalf("null record: ID %v, text %s vs %s", tn.ID(), tn.String(), gn.String())
		}
		tr, _ := spec.trellisRecord()
		tn2 := enode.SignNull(tr, id)
		if tn2.String() != gn.String() {
			t.Fatalf("SignNull differs:\ntrellis %s\ngeth    %s", tn2.String(), gn.String())
		}
	}
}
