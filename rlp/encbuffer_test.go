package rlp

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
)

func TestEncoderBuffer(t *testing.T) {
	var out bytes.Buffer
	w := NewEncoderBuffer(&out)
	outer := w.List()
	w.WriteUint64(0)
	w.WriteUint64(1024)
	w.WriteBool(true)
	w.WriteBool(false)
	w.WriteBytes([]byte{0x05})
	w.WriteString("dog")
	w.WriteBigInt(big.NewInt(0x80))
	w.WriteBigInt(nil)
	inner := w.List()
	w.WriteBytes(bytes.Repeat([]byte{0xaa}, 60)) // forces a long header on both lists
	w.ListEnd(inner)
	if _, err := w.Write([]byte{0xc0}); err != nil {
		t.Fatal(err)
	}
	w.ListEnd(outer)
	want := "f84f" + "80" + "820400" + "01" + "80" + "05" + "83646f67" + "8180" + "80" +
		"f83e" + "b83c" + strings.Repeat("aa", 60) + "c0"
	if h := hex.EncodeToString(w.ToBytes()); h != want {
		t.Fatalf("ToBytes:\n got %s\nwant %s", h, want)
	}
	if w.Size() != len(want)/2 {
		t.Fatalf("Size %d", w.Size())
	}
	if got := w.AppendToBytes([]byte{1}); !bytes.Equal(got[1:], unhexMust(want)) {
		t.Fatal("AppendToBytes")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(out.Bytes()) != want {
		t.Fatalf("Flush wrote %x", out.Bytes())
	}
}

func TestEncoderBufferNegativeBigIntPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	w := NewEncoderBuffer(new(bytes.Buffer))
	w.WriteBigInt(big.NewInt(-1))
}

// Encode into an EncoderBuffer writes into its buffer.
func TestEncodeIntoEncoderBuffer(t *testing.T) {
	var out bytes.Buffer
	w := NewEncoderBuffer(&out)
	l := w.List()
	if err := Encode(w, []uint{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := Encode(&w, "a"); err != nil {
		t.Fatal(err)
	}
	w.ListEnd(l)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(out.Bytes()) != "c4c2010261" {
		t.Fatalf("got %x", out.Bytes())
	}
}

func TestListEndLongHeaders(t *testing.T) {
	// Payload sizes around each header length boundary, nested.
	for _, n := range []int{55, 56, 255, 256, 65535, 65536} {
		content := bytes.Repeat([]byte{0x01}, n)
		got, err := EncodeToBytes([]any{RawValue(content)})
		if err != nil {
			t.Fatal(err)
		}
		want := append(appendHeader(nil, listOffset, uint64(n)), content...)
		if !bytes.Equal(got, want) {
			t.Fatalf("n=%d: header %x, want %x", n, got[:5], want[:5])
		}
		nested, _ := EncodeToBytes([]any{[]any{RawValue(content)}})
		wantNested := append(appendHeader(nil, listOffset, uint64(len(want))), want...)
		if !bytes.Equal(nested, wantNested) {
			t.Fatalf("n=%d nested mismatch", n)
		}
	}
}
