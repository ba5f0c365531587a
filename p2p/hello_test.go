package p2p

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/rlp"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The Hello from EIP-8's test vectors: a future protocol version and list
// elements we do not know must be accepted.
func TestDecodeHelloEIP8(t *testing.T) {
	var vec struct{ Hex string }
	data, err := os.ReadFile("testdata/eip8-hello.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &vec); err != nil {
		t.Fatal(err)
	}
	h, err := decodeHello(mustHex(t, vec.Hex))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 55 || h.Name != "kneth/v0.91/plan9" || h.ListenPort != 9999 {
		t.Errorf("got version %d name %q port %d", h.Version, h.Name, h.ListenPort)
	}
	wantCaps := []Cap{{"eth", 61}, {"mork", 22}}
	if len(h.Caps) != 2 || h.Caps[0] != wantCaps[0] || h.Caps[1] != wantCaps[1] {
		t.Errorf("caps %v, want %v", h.Caps, wantCaps)
	}
	wantID := mustHex(t, "fda1cff674c90c9a197539fe3dfb53086ace64f83ed7c6eabec741f7f381cc803e52ab2cd55d5569bce4347107a310dfd5f88a010cd2ffd1005ca406f1842877")
	if !bytes.Equal(h.ID, wantID) {
		t.Errorf("id %x", h.ID)
	}
}

func TestHelloRoundTrip(t *testing.T) {
	h := &hello{
		Version:    5,
		Name:       "Trellis/v0.1",
		Caps:       []Cap{{"eth", 68}, {"snap", 1}},
		ListenPort: 30303,
		ID:         bytes.Repeat([]byte{7}, 64),
	}
	enc := h.encode()
	// Same bytes as the reflection encoder gives for go-ethereum's struct.
	type gethHello struct {
		Version    uint64
		Name       string
		Caps       []Cap
		ListenPort uint64
		ID         []byte
	}
	want, err := rlp.EncodeToBytes(gethHello{5, "Trellis/v0.1", h.Caps, 30303, h.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, want) {
		t.Fatalf("encoding differs:\n got %x\nwant %x", enc, want)
	}
	got, err := decodeHello(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != h.Version || got.Name != h.Name || got.ListenPort != h.ListenPort || !bytes.Equal(got.ID, h.ID) || len(got.Caps) != 2 || got.Caps[1] != h.Caps[1] {
		t.Fatalf("round trip: %+v", got)
	}
}

func encodeList(t testing.TB, items ...any) []byte {
	t.Helper()
	b, err := rlp.EncodeToBytes(uints(items))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uints converts the ints in a test value to uint, which rlp encodes.
func uints(v any) any {
	switch v := v.(type) {
	case int:
		return uint(v)
	case []any:
		out := make([]any, len(v))
		for i := range v {
			out[i] = uints(v[i])
		}
		return out
	}
	return v
}

func TestDecodeHelloInvalid(t *testing.T) {
	id := bytes.Repeat([]byte{1}, 64)
	caps := []any{[]any{"eth", uint(68)}}
	tests := []struct {
		name  string
		input []byte
		want  error // in addition to ErrInvalidHello
	}{
		{"empty", nil, nil},
		{"not a list", mustHex(t, "8405060708"), rlp.ErrExpectedList},
		{"truncated list", mustHex(t, "c505"), nil},
		{"version is a list", encodeList(t, []any{}, "x", caps, 0, id), rlp.ErrExpectedString},
		{"version overflow", encodeList(t, bytes.Repeat([]byte{1}, 9), "x", caps, 0, id), rlp.ErrUintOverflow},
		{"version leading zero", mustHex(t, "c3820005"), rlp.ErrCanonInt},
		{"name is a list", encodeList(t, 5, []any{}, caps, 0, id), rlp.ErrExpectedString},
		{"caps not a list", encodeList(t, 5, "x", "eth", 0, id), rlp.ErrExpectedList},
		{"cap not a list", encodeList(t, 5, "x", []any{"eth"}, 0, id), rlp.ErrExpectedList},
		{"cap without version", encodeList(t, 5, "x", []any{[]any{"eth"}}, 0, id), nil},
		{"cap version is a list", encodeList(t, 5, "x", []any{[]any{"eth", []any{}}}, 0, id), rlp.ErrExpectedString},
		{"missing port", encodeList(t, 5, "x", caps), nil},
		{"missing id", encodeList(t, 5, "x", caps, 0), nil},
		{"id too short", encodeList(t, 5, "x", caps, 0, id[:63]), DiscInvalidIdentity},
		{"id too long", encodeList(t, 5, "x", caps, 0, append(id, 0)), DiscInvalidIdentity},
		{"id is a list", encodeList(t, 5, "x", caps, 0, []any{}), rlp.ErrExpectedString},
		{"malformed trailing field", append(mustHex(t, "f84b"), append(encodeList(t, 5, "x", caps, 0, id)[2:], 0xb8, 0x01)...), nil},
		{"1 MiB name", encodeList(t, 5, strings.Repeat("n", 1<<20), caps, 0, id), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeHello(tt.input)
			if !errors.Is(err, ErrInvalidHello) {
				t.Fatalf("err = %v, want ErrInvalidHello", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// A Hello without capabilities decodes; the server then refuses the peer as
// useless if it runs any protocol.
func TestDecodeHelloNoCaps(t *testing.T) {
	h, err := decodeHello(encodeList(t, 5, "x", []any{}, 0, bytes.Repeat([]byte{1}, 64)))
	if err != nil || len(h.Caps) != 0 {
		t.Fatalf("got %v, %v", h, err)
	}
}

func TestDisconnectCodec(t *testing.T) {
	for r := DiscRequested; r <= DiscSubprotocolError; r++ {
		got, err := decodeDisconnect(encodeDisconnect(r))
		if err != nil || got != r {
			t.Fatalf("round trip of %d: %v %v", r, got, err)
		}
	}
	// go-ethereum sends [reason]; DiscRequested is then c180.
	if enc := encodeDisconnect(DiscRequested); !bytes.Equal(enc, []byte{0xc1, 0x80}) {
		t.Fatalf("encoding of DiscRequested: %x", enc)
	}
	if enc := encodeDisconnect(DiscTooManyPeers); !bytes.Equal(enc, []byte{0xc1, 0x04}) {
		t.Fatalf("encoding of DiscTooManyPeers: %x", enc)
	}
	if enc := encodeDisconnect(DiscInvalid); !bytes.Equal(enc, []byte{0xc2, 0x81, 0xff}) {
		t.Fatalf("encoding of DiscInvalid: %x", enc)
	}

	tests := []struct {
		name  string
		input string
		want  DiscReason
		err   bool
	}{
		{"list form", "c104", DiscTooManyPeers, false},
		{"list with zero as 0x80", "c180", DiscRequested, false},
		{"list with zero as 0x00", "c100", DiscRequested, false},
		{"bare byte", "04", DiscTooManyPeers, false},
		{"bare empty string", "80", DiscRequested, false},
		{"extra list elements", "c3100203", DiscSubprotocolError, false},
		{"unknown reason kept", "c10c", DiscReason(0x0c), false},
		{"big reason in string", "c28199", DiscReason(0x99), false},
		{"empty payload", "", DiscInvalid, true},
		{"empty list", "c0", DiscInvalid, true},
		{"nested list", "c2c104", DiscInvalid, true},
		{"reason too big", "c3820100", DiscInvalid, true},
		{"truncated", "c2", DiscInvalid, true},
		{"non-canonical string", "c28104", DiscInvalid, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeDisconnect(mustHex(t, tt.input))
			if got != tt.want {
				t.Errorf("reason = %v, want %v", got, tt.want)
			}
			if tt.err != (err != nil) || (err != nil && !errors.Is(err, ErrInvalidDisconnect)) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestDiscReasonStrings(t *testing.T) {
	if DiscTooManyPeers.Error() != "too many peers" || DiscSubprotocolError.String() != "subprotocol error" {
		t.Fatal("wrong names")
	}
	if got := DiscReason(0x42).String(); got != "unknown disconnect reason 66" {
		t.Fatal(got)
	}
	var err error = DiscQuitting
	var r DiscReason
	if !errors.As(err, &r) || r != DiscQuitting {
		t.Fatal("DiscReason is not usable as an error")
	}
}

func FuzzDecodeHello(f *testing.F) {
	f.Add(mustHex(f, "f87137916b6e6574682f76302e39312f706c616e39cdc5836574683dc6846d6f726b1682270fb840fda1cff674c90c9a197539fe3dfb53086ace64f83ed7c6eabec741f7f381cc803e52ab2cd55d5569bce4347107a310dfd5f88a010cd2ffd1005ca406f1842877c883666f6f836261720304"))
	f.Add((&hello{Version: 5, Name: "x", Caps: []Cap{{"eth", 68}}, ID: make([]byte, 64)}).encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := decodeHello(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidHello) {
				t.Fatalf("error does not wrap ErrInvalidHello: %v", err)
			}
			return
		}
		if len(h.ID) != 64 {
			t.Fatalf("accepted %d-byte ID", len(h.ID))
		}
		// What decodes re-encodes to something that decodes to the same.
		h2, err := decodeHello(h.encode())
		if err != nil || h2.Name != h.Name || h2.Version != h.Version || len(h2.Caps) != len(h.Caps) {
			t.Fatalf("re-encoding: %v %+v", err, h2)
		}
	})
}

func FuzzDecodeDisconnect(f *testing.F) {
	for _, s := range []string{"c104", "04", "80", "c0", "c2c104", "c3100203"} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeDisconnect(data)
		if err != nil {
			if r != DiscInvalid || !errors.Is(err, ErrInvalidDisconnect) {
				t.Fatalf("error %v with reason %v", err, r)
			}
			return
		}
		if got, err := decodeDisconnect(encodeDisconnect(r)); err != nil || got != r {
			t.Fatalf("re-encoding %v: %v %v", r, got, err)
		}
	})
}
