package v4wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlp"
)

type eip8File struct {
	SigningKey string `json:"signing_key"`
	Packets    []struct {
		Name string `json:"name"`
		Hex  string `json:"hex"`
	} `json:"packets"`
}

func loadEIP8(t testing.TB) (*crypto.PrivateKey, map[string][]byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/eip8-packets.json")
	if err != nil {
		t.Fatal(err)
	}
	var f eip8File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	key, err := crypto.HexToPrivateKey(f.SigningKey)
	if err != nil {
		t.Fatal(err)
	}
	packets := make(map[string][]byte)
	for _, p := range f.Packets {
		raw, err := hex.DecodeString(p.Hex)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		packets[p.Name] = raw
	}
	return key, packets
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hexPubkey(s string) (k Pubkey) {
	copy(k[:], mustHex(s))
	return k
}

// The EIP-8 discovery vectors (EIP-8 "Test Vectors / RLPx Discovery
// Protocol"), decoded to the values their descriptions give: the version
// (4 or 555), endpoints, expiration 1136239445 (2006-01-02T22:04:05Z), and
// the extra list elements. Random data after the lists is ignored.
//
// The ping-v555 and pong vectors predate EIP-868: the element where enr-seq
// now goes is a list, so it is kept as an extra element and ENRSeq is 0. In
// ping-v4 that element is the integer 1, which EIP-868 reads as the seq.
var eip8Want = map[string]Packet{
	"ping-v4": &Ping{
		Version:    4,
		From:       Endpoint{netip.MustParseAddr("127.0.0.1"), 3322, 5544},
		To:         Endpoint{netip.MustParseAddr("::1"), 2222, 3333},
		Expiration: 1136239445,
		ENRSeq:     1,
		Rest:       []rlp.RawValue{{0x02}},
	},
	"ping-v555": &Ping{
		Version:    555,
		From:       Endpoint{netip.MustParseAddr("2001:db8:3c4d:15::abcd:ef12"), 3322, 5544},
		To:         Endpoint{netip.MustParseAddr("2001:db8:85a3:8d3:1319:8a2e:370:7348"), 2222, 33338},
		Expiration: 1136239445,
		Rest:       []rlp.RawValue{mustHex("c50102030405")},
	},
	"pong": &Pong{
		To:         Endpoint{netip.MustParseAddr("2001:db8:85a3:8d3:1319:8a2e:370:7348"), 2222, 33338},
		ReplyTok:   mustHex("fbc914b16819237dcd8801d7e53f69e9719adecb3cc0e790c57e91ca4461c954"),
		Expiration: 1136239445,
		Rest:       []rlp.RawValue{mustHex("c6010203c20405"), {0x06}},
	},
	"findnode": &FindNode{
		Target:     hexPubkey("ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd31387574077f301b421bc84df7266c44e9e6d569fc56be00812904767bf5ccd1fc7f"),
		Expiration: 1136239445,
		Rest:       []rlp.RawValue{mustHex("829999"), mustHex("83999999")},
	},
	"neighbours": &Neighbors{
		Nodes: []Node{
			{
				IP: netip.MustParseAddr("99.33.22.55"), UDP: 4444, TCP: 4445,
				ID: hexPubkey("3155e1427f85f10a5c9a7755877748041af1bcd8d474ec065eb33df57a97babf54bfd2103575fa829115d224c523596b401065a97f74010610fce76382c0bf32"),
			},
			{
				IP: netip.MustParseAddr("1.2.3.4"), UDP: 1, TCP: 1,
				ID: hexPubkey("312c55512422cf9b8a4097e9a6ad79402e87a15ae909a4bfefa22398f03d20951933beea1e4dfa6f968212385e829f04c2d314fc2d4e255e0d3bc08792b069db"),
			},
			{
				IP: netip.MustParseAddr("2001:db8:3c4d:15::abcd:ef12"), UDP: 3333, TCP: 3333,
				ID: hexPubkey("38643200b172dcfef857492156971f0e6aa2c538d8b74010f8e140811d53b98c765dd2d96126051913f44582e8c199ad7c6d6819e9a56483f637feaac9448aac"),
			},
			{
				IP: netip.MustParseAddr("2001:db8:85a3:8d3:1319:8a2e:370:7348"), UDP: 999, TCP: 1000,
				ID: hexPubkey("8dcab8618c3253b558d459da53bd8fa68935a719aff8b811197101a4b2b47dd2d47295286fc00cc081bb542d760717d1bdd6bec2c37cd72eca367d6dd3b9df73"),
			},
		},
		Expiration: 1136239445,
		Rest:       []rlp.RawValue{{0x01}, {0x02}, {0x03}},
	},
}

func TestEIP8Vectors(t *testing.T) {
	key, packets := loadEIP8(t)
	wantKey := EncodePubkey(key.PubKey())
	if len(packets) != len(eip8Want) {
		t.Fatalf("vector file has %d packets, want %d", len(packets), len(eip8Want))
	}
	for name, raw := range packets {
		t.Run(name, func(t *testing.T) {
			want, ok := eip8Want[name]
			if !ok {
				t.Fatalf("no expectation for vector %q", name)
			}
			p, from, hash, err := Decode(raw)
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !reflect.DeepEqual(p, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", p, want)
			}
			if from != wantKey {
				t.Errorf("sender key %x, want %x", from[:8], wantKey[:8])
			}
			if !bytes.Equal(hash[:], raw[:HashSize]) {
				t.Errorf("hash %x, want %x", hash, raw[:HashSize])
			}
			// Encoding the decoded packet reproduces the packet-data list,
			// extra elements included (the random bytes after it are gone).
			data, err := appendData(nil, p)
			if err != nil {
				t.Fatal(err)
			}
			list := raw[HeadSize+1:]
			_, rest, _ := rlp.SplitList(list)
			if want := list[:len(list)-len(rest)]; !bytes.Equal(data, want) {
				t.Errorf("re-encoded data\n%x\nwant\n%x", data, want)
			}
		})
	}
}
