package nat

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

var testNonce = pcpNonce{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

// The MAP request layout of RFC 6887 sections 7.1 and 11.1.
func TestPCPEncodeMap(t *testing.T) {
	req := pcpMapRequest{
		Lifetime:     1200,
		ClientIP:     netip.MustParseAddr("192.168.77.2"),
		Nonce:        testNonce,
		Protocol:     ipProtoTCP,
		InternalPort: 30303,
		ExternalPort: 30303,
	}
	want := unhex(t, ""+
		"02010000"+"000004b0"+ // version 2, MAP, reserved, lifetime 1200
		"00000000000000000000ffffc0a84d02"+ // client address, IPv4-mapped
		"0102030405060708090a0b0c"+ // nonce
		"06000000"+ // TCP, reserved
		"765f765f"+ // internal and suggested external port
		"00000000000000000000ffff00000000") // no suggested address: ::ffff:0.0.0.0
	if got := req.encode(); !bytes.Equal(got, want) {
		t.Errorf("MAP request\n got %x\nwant %x", got, want)
	}

	// IPv6 client: the "no preference" address is ::.
	req.ClientIP = netip.MustParseAddr("2001:db8::2")
	got := req.encode()
	if !bytes.Equal(got[8:24], netip.MustParseAddr("2001:db8::2").AsSlice()) || !bytes.Equal(got[44:60], make([]byte, 16)) {
		t.Errorf("IPv6 MAP request %x", got)
	}
}

func TestPCPEncodeAnnounce(t *testing.T) {
	want := unhex(t, "02000000"+"00000000"+"00000000000000000000ffffc0a84d02")
	if got := encodePCPAnnounce(netip.MustParseAddr("192.168.77.2")); !bytes.Equal(got, want) {
		t.Errorf("ANNOUNCE\n got %x\nwant %x", got, want)
	}
}

func pcpMapResponseHex() string {
	return "" +
		"02810000" + "000004b0" + "00000777" + // MAP response, SUCCESS, lifetime 1200, epoch 1911
		"000000000000000000000000" + // reserved
		"0102030405060708090a0b0c" + "06000000" + "765f9c40" + // nonce, TCP, 30303 -> 40000
		"00000000000000000000ffff0a630001" // 10.99.0.1
}

func TestPCPDecode(t *testing.T) {
	r, err := decodePCPResponse(unhex(t, pcpMapResponseHex()), pcpOpMap)
	want := pcpResponse{
		Op: pcpOpMap, Lifetime: 1200, Epoch: 1911, HasMap: true, Nonce: testNonce,
		Protocol: ipProtoTCP, InternalPort: 30303, ExternalPort: 40000, ExternalIP: netip.MustParseAddr("10.99.0.1"),
	}
	if err != nil || r != want {
		t.Errorf("MAP response\n got %+v %v\nwant %+v", r, err, want)
	}
	// Options are skipped when well formed: one of 4 data bytes, one of 1
	// (padded to 4), one empty.
	withOpts := pcpMapResponseHex() + "01000004aabbccdd" + "80000001ee000000" + "02000000"
	if r, err := decodePCPResponse(unhex(t, withOpts), pcpOpMap); err != nil || r != want {
		t.Errorf("with options: %+v %v", r, err)
	}
	// An error response without MAP data.
	r, err = decodePCPResponse(unhex(t, "02810002"+"0000001e"+"00000777"+"000000000000000000000000"), pcpOpMap)
	if err != nil || r.Result != PCPNotAuthorized || r.Lifetime != 30 || r.HasMap {
		t.Errorf("short error response: %+v %v", r, err)
	}
	// ANNOUNCE.
	r, err = decodePCPResponse(unhex(t, "02800000"+"00000000"+"00000009"+"000000000000000000000000"), pcpOpAnnounce)
	if err != nil || r.Epoch != 9 || r.Op != pcpOpAnnounce {
		t.Errorf("ANNOUNCE response: %+v %v", r, err)
	}
}

func TestPCPDecodeMalformed(t *testing.T) {
	header := "02810000" + "000004b0" + "00000777" + "000000000000000000000000"
	for _, tc := range []struct {
		name string
		in   string
		op   uint8
		want error
	}{
		{"empty", "", pcpOpMap, ErrTruncated},
		{"NAT-PMP server answering", "0081000100000777", pcpOpMap, &VersionError{}},
		{"version 1", "01810000", pcpOpMap, &VersionError{}},
		{"short header", header[:40], pcpOpMap, ErrTruncated},
		{"not a multiple of 4", header + "0000", pcpOpMap, ErrBadLength},
		{"over 1100 bytes", header + strings.Repeat("00", 1080), pcpOpMap, ErrTooLarge},
		{"request, not response", "0201" + header[4:], pcpOpMap, ErrNotResponse},
		{"other opcode", "0280" + header[4:], pcpOpMap, ErrOpcodeMismatch},
		{"success without MAP data", header, pcpOpMap, ErrTruncated},
		{"MAP data truncated", header + "01020304", pcpOpMap, ErrTruncated},
		{"option longer than message", pcpMapResponseHex() + "01000008aabbccdd", pcpOpMap, ErrBadOption},
		{"option length past padding", pcpMapResponseHex() + "01000005aabbccdd", pcpOpMap, ErrBadOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodePCPResponse(unhex(t, tc.in), tc.op)
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

func FuzzPCPResponse(f *testing.F) {
	f.Add(unhex(f, pcpMapResponseHex()), uint8(pcpOpMap))
	f.Add(unhex(f, pcpMapResponseHex()+"01000004aabbccdd"), uint8(pcpOpMap))
	f.Add(unhex(f, "02810002"+"0000001e"+"00000777"+"000000000000000000000000"), uint8(pcpOpMap))
	f.Add(unhex(f, "02800000"+"00000000"+"00000009"+"000000000000000000000000"), uint8(pcpOpAnnounce))
	f.Fuzz(func(t *testing.T, b []byte, op uint8) {
		op %= 2
		r, err := decodePCPResponse(b, op)
		if err != nil {
			var ve *VersionError
			if !errors.Is(err, ErrMalformedResponse) && !errors.As(err, &ve) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// What decodes re-encodes (without options) to the same response.
		r2, err := decodePCPResponse(encodePCPResponse(r), op)
		if err != nil || r2 != r {
			t.Fatalf("round trip: %+v -> %+v, %v", r, r2, err)
		}
	})
}
