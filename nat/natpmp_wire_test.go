package nat

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The request layouts of RFC 6886 sections 3.2 and 3.3.
func TestPMPEncode(t *testing.T) {
	if got := encodePMPExternal(); !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("external address request %x", got)
	}
	// TCP, internal 30303, suggested external 30304, 7200 s.
	want := unhex(t, "00020000765f76600000"+"1c20")
	if got := encodePMPMap(pmpOpMapTCP, 30303, 30304, 7200); !bytes.Equal(got, want) {
		t.Errorf("map request\n got %x\nwant %x", got, want)
	}
	// Deletion (section 3.4): UDP, internal 30303, external 0, lifetime 0.
	want = unhex(t, "00010000765f000000000000")
	if got := encodePMPMap(pmpOpMapUDP, 30303, 0, 0); !bytes.Equal(got, want) {
		t.Errorf("delete request\n got %x\nwant %x", got, want)
	}
}

func TestPMPDecode(t *testing.T) {
	// External address: epoch 1911, 10.99.0.1.
	r, err := decodePMPResponse(unhex(t, "00800000"+"00000777"+"0a630001"), pmpOpExternal)
	if err != nil || r.Epoch != 1911 || r.ExternalIP != netip.MustParseAddr("10.99.0.1") || r.Result != PMPSuccess {
		t.Errorf("external: %+v %v", r, err)
	}
	// Mapping: UDP 30303 -> 30303 for 3600 s.
	r, err = decodePMPResponse(unhex(t, "00810000"+"00000777"+"765f765f"+"00000e10"), pmpOpMapUDP)
	if err != nil || r.InternalPort != 30303 || r.ExternalPort != 30303 || r.Lifetime != 3600 {
		t.Errorf("map: %+v %v", r, err)
	}
	// Error responses may be the header alone (section 3.5).
	r, err = decodePMPResponse(unhex(t, "00820003"+"00000005"), pmpOpMapTCP)
	if err != nil || r.Result != PMPNetworkFailure || r.Epoch != 5 {
		t.Errorf("error response: %+v %v", r, err)
	}
	// Trailing bytes are ignored.
	if _, err := decodePMPResponse(unhex(t, "00800000"+"00000777"+"0a630001"+"ffff"), pmpOpExternal); err != nil {
		t.Errorf("trailing bytes: %v", err)
	}
}

func TestPMPDecodeMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		op   uint8
		want error
	}{
		{"empty", "", pmpOpExternal, ErrTruncated},
		{"PCP server answering", "0280000100000000", pmpOpExternal, &VersionError{}},
		{"unknown version", "07800000", pmpOpExternal, &VersionError{}},
		{"short header", "00800000", pmpOpExternal, ErrTruncated},
		{"request echoed", "000000000000000000000000", pmpOpExternal, ErrNotResponse},
		{"other opcode", "0081000000000001765f765f00000e10", pmpOpMapTCP, ErrOpcodeMismatch},
		{"external truncated", "00800000000007770a63", pmpOpExternal, ErrTruncated},
		{"map truncated", "008200000000077776", pmpOpMapTCP, ErrTruncated},
		{"map without lifetime", "00820000000007770000765f", pmpOpMapTCP, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodePMPResponse(unhex(t, tc.in), tc.op)
			var ve *VersionError
			switch {
			case err == nil:
				t.Fatal("no error")
			case errors.As(tc.want, &ve):
				if !errors.As(err, &ve) {
					t.Fatalf("got %v, want a VersionError", err)
				}
			case !errors.Is(err, tc.want) || !errors.Is(err, ErrMalformedResponse):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzPMPResponse(f *testing.F) {
	f.Add(unhex(f, "00800000000007770a630001"), uint8(0))
	f.Add(unhex(f, "00810000"+"00000777"+"765f765f"+"00000e10"), uint8(1))
	f.Add(unhex(f, "0082000300000005"), uint8(2))
	f.Add(unhex(f, "0280000100000000"), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, op uint8) {
		op %= 3
		r, err := decodePMPResponse(b, op)
		if err != nil {
			var ve *VersionError
			if !errors.Is(err, ErrMalformedResponse) && !errors.As(err, &ve) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// What decodes re-encodes to the same response.
		r2, err := decodePMPResponse(encodePMPResponse(r), op)
		if err != nil || r2 != r {
			t.Fatalf("round trip: %+v -> %+v, %v", r, r2, err)
		}
	})
}
