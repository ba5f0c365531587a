package crawl

import (
	"errors"
	"testing"

	"github.com/trellis-p2p/trellis/p2p"
	"github.com/trellis-p2p/trellis/rlp"
)

func TestDecodeHello(t *testing.T) {
	in := Hello{Version: 5, Name: "Geth/v1.17.10", Caps: []p2p.Cap{{Name: "eth", Version: 68}}, ListenPort: 30303, Key: make([]byte, 64)}
	enc, err := rlp.EncodeToBytes(&in)
	if err != nil {
		t.Fatal(err)
	}
	// EIP-8: fields after the key are kept.
	extra, err := rlp.EncodeToBytes([]any{in.Version, in.Name, in.Caps, in.ListenPort, in.Key, uint(1)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := DecodeHello(enc)
	if err != nil || h.Name != in.Name || h.Caps[0] != in.Caps[0] || h.ListenPort != 30303 {
		t.Fatalf("DecodeHello: %+v, %v", h, err)
	}
	if h, err := DecodeHello(extra); err != nil || len(h.Rest) != 1 {
		t.Errorf("Hello with an extra field (EIP-8): %+v, %v", h, err)
	}
	for name, data := range map[string][]byte{
		"empty":          nil,
		"not a list":     {0x80},
		"truncated":      enc[:len(enc)-1],
		"version string": {0xc2, 0x81, 'x'},
		"caps not list":  {0xc3, 0x05, 0x80, 0x01},
		"trailing":       append(append([]byte(nil), enc...), 0x00),
	} {
		if _, err := DecodeHello(data); !errors.Is(err, ErrMalformedHello) {
			t.Errorf("%s: err %v, want ErrMalformedHello", name, err)
		}
	}
}

func TestDecodeDiscReason(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		want p2p.DiscReason
	}{
		{[]byte{0xc1, 0x04}, p2p.DiscTooManyPeers},
		{[]byte{0x04}, p2p.DiscTooManyPeers}, // bare, as old clients sent
		{[]byte{0xc1, 0x80}, p2p.DiscRequested},
		{[]byte{0xc0}, p2p.DiscInvalid},
		{nil, p2p.DiscInvalid},
		{[]byte{0xc2, 0xc1, 0x04}, p2p.DiscInvalid},
		{[]byte{0xc3, 0x82, 0x01, 0x02}, p2p.DiscInvalid},
	} {
		if got := DecodeDiscReason(tc.data); got != tc.want {
			t.Errorf("DecodeDiscReason(%x) = %v, want %v", tc.data, got, tc.want)
		}
	}
}

func FuzzDecodeHello(f *testing.F) {
	enc, _ := rlp.EncodeToBytes(&Hello{Version: 5, Name: "x", Caps: []p2p.Cap{{Name: "eth", Version: 68}}, Key: make([]byte, 64)})
	f.Add(enc)
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := DecodeHello(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedHello) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if _, err := rlp.EncodeToBytes(h); err != nil {
			t.Fatalf("decoded Hello does not encode: %v", err)
		}
	})
}

func FuzzDecodeDiscReason(f *testing.F) {
	f.Add([]byte{0xc1, 0x04})
	f.Add([]byte{0x04})
	f.Fuzz(func(t *testing.T, data []byte) { DecodeDiscReason(data) })
}
