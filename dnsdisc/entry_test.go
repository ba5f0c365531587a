package dnsdisc

import (
	"errors"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enr"
)

const (
	// From the EIP-1459 example tree (testdata/eip1459.json).
	exampleENR    = "enr:-HW4QOFzoVLaFJnNhbgMoDXPnOvcdVuj7pDpqRvh6BRDO68aVi5ZcjB3vzQRZH2IcLBGHzo8uUN3snqmgTiE56CH3AMBgmlkgnY0iXNlY3AyNTZrMaECC2_24YYkYHEgdzxlSNKQEnHhuNAbNlMlWJxrJxbAFvA"
	exampleBranch = "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,H4FHT4B454P6UXFD7JCYQ5PWDY,MHTDO6TMUBRIA2XWG5LUDACK24"
	exampleLink   = "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@morenodes.example.org"
	exampleRoot   = "enrtree-root:v1 e=JWXYDBPXYWG6FX3GMDIBFA6CJ4 l=C7HRFPF3BLGF3YR4DY5KX3SMBE seq=1 sig=o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA"
	exampleSig    = "o908WmNp7LibOfPsr4btQwatZJ5URBr2ZAuxvK4UWHlsB9sUOTJQaGAlLPVAhM__XJesCHxLISo94z5Z2a463gA"
)

func TestParseEntryRoundTrip(t *testing.T) {
	for _, text := range []string{exampleENR, exampleBranch, exampleLink, "enrtree-branch:"} {
		e, err := ParseEntry(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if e.String() != text {
			t.Errorf("String() = %q, want %q", e.String(), text)
		}
	}
	r, err := ParseRoot(exampleRoot)
	if err != nil {
		t.Fatal(err)
	}
	if r.String() != exampleRoot || r.Seq != 1 || r.ENRRoot != "JWXYDBPXYWG6FX3GMDIBFA6CJ4" || r.LinkRoot != "C7HRFPF3BLGF3YR4DY5KX3SMBE" {
		t.Errorf("root parsed as %+v", r)
	}
	if want := exampleRoot[:strings.Index(exampleRoot, " sig=")]; r.SignedText() != want {
		t.Errorf("SignedText() = %q, want %q", r.SignedText(), want)
	}
}

func TestEntryHash(t *testing.T) {
	// The example names each entry by its hash (dnsdisc.md example).
	for text, name := range map[string]string{
		exampleLink:   "C7HRFPF3BLGF3YR4DY5KX3SMBE",
		exampleBranch: "JWXYDBPXYWG6FX3GMDIBFA6CJ4",
		exampleENR:    "2XS2367YHAXJFGLZHVAWLQD4ZY",
	} {
		if got := EntryHash(text); got != name {
			t.Errorf("EntryHash(%.30q...) = %s, want %s", text, got, name)
		}
		h, err := parseHash(name)
		if err != nil || !hashMatches(text, h) {
			t.Errorf("hash %s does not match its text: %v", name, err)
		}
		// A 12-byte abbreviation of the same hash is accepted too.
		short := b32.EncodeToString(h[:MinHashLength])
		hs, err := parseHash(short)
		if err != nil || !hashMatches(text, hs) {
			t.Errorf("short hash %s: %v", short, err)
		}
	}
}

// TestParseEntryErrors maps malformed subtree entries to their errors.
func TestParseEntryErrors(t *testing.T) {
	tooWide := branchPrefix + strings.Repeat("AAAAAAAAAAAAAAAAAAAA,", MaxBranchWidth) + "AAAAAAAAAAAAAAAAAAAA"
	// The widest branch that fits parses.
	widest := tooWide[:len(tooWide)-len(",AAAAAAAAAAAAAAAAAAAA")]
	if b, err := ParseEntry(widest); err != nil || len(b.(*BranchEntry).Children) != MaxBranchWidth || len(widest) > MaxEntryLength {
		t.Fatalf("widest branch (%d bytes): %v", len(widest), err)
	}
	for _, tc := range []struct {
		name, text string
		want       error
		typ        string
	}{
		{"empty", "", ErrUnknownEntry, ""},
		{"unknown prefix", "v=spf1 -all", ErrUnknownEntry, ""},
		{"root at a subdomain", exampleRoot, ErrUnknownEntry, ""},
		{"prefix case", "ENR:" + exampleENR[4:], ErrUnknownEntry, ""},
		{"too long", "enr:" + strings.Repeat("A", MaxEntryLength), ErrEntryTooLong, ""},
		{"branch trailing comma", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,", ErrBadHash, "branch"},
		{"branch empty child", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY,,H4FHT4B454P6UXFD7JCYQ5PWDY", ErrBadHash, "branch"},
		{"branch lowercase", "enrtree-branch:2xs2367yhaxjfglzhvawlqd4zy", ErrBadBase32, "branch"},
		{"branch bad char", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4Z1", ErrBadBase32, "branch"},
		{"branch hash too short", "enrtree-branch:2XS2367YHAXJFGLZHVA", ErrBadHash, "branch"},
		{"branch hash too long", "enrtree-branch:" + strings.Repeat("A", 53), ErrBadHash, "branch"},
		{"branch hash padded", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZY======", ErrBadBase32, "branch"},
		{"branch hash non-canonical", "enrtree-branch:2XS2367YHAXJFGLZHVAWLQD4ZZ", ErrBadHash, "branch"},
		{"branch space", "enrtree-branch: 2XS2367YHAXJFGLZHVAWLQD4ZY", ErrBadBase32, "branch"},
		{"branch too long", tooWide, ErrEntryTooLong, ""},
		{"enr bad base64", "enr:-HW4QOFz*oVLa", ErrBadENR, "enr"},
		{"enr padded base64", exampleENR + "=", ErrBadENR, "enr"},
		{"enr bad signature", exampleENR[:20] + "A" + exampleENR[21:], ErrBadENR, "enr"},
		{"enr empty", "enr:", ErrBadENR, "enr"},
		{"link without key", "enrtree://@morenodes.example.org", ErrBadURL, "link"},
		{"link without at", "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2", ErrBadURL, "link"},
		{"link bad base32", "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT1@x.org", ErrBadBase32, "link"},
		{"link short key", "enrtree://AM5FCQLWIZX2QFPNJAP7@x.org", ErrBadPubkey, "link"},
		{"link key not on curve", "enrtree://" + strings.Repeat("7", 52) + "Q@x.org", ErrBadPubkey, "link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEntry(tc.text)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseEntry = %v, %v; want error %v", e, err, tc.want)
			}
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Type != tc.typ {
				t.Fatalf("error %v is not an EntryError of type %q", err, tc.typ)
			}
		})
	}
}

// TestParseRootErrors maps malformed roots to their errors.
func TestParseRootErrors(t *testing.T) {
	const e, l = "JWXYDBPXYWG6FX3GMDIBFA6CJ4", "C7HRFPF3BLGF3YR4DY5KX3SMBE"
	root := func(f string) string { return rootPrefix + " " + f }
	for _, tc := range []struct {
		name, text string
		want       error
	}{
		{"no prefix", "e=" + e + " l=" + l + " seq=1 sig=" + exampleSig, ErrRootSyntax},
		{"version 2", "enrtree-root:v2 e=" + e + " l=" + l + " seq=1 sig=" + exampleSig, ErrRootSyntax},
		{"field order", root("l=" + l + " e=" + e + " seq=1 sig=" + exampleSig), ErrRootSyntax},
		{"missing sig", root("e=" + e + " l=" + l + " seq=1"), ErrRootSyntax},
		{"extra field", root("e=" + e + " l=" + l + " seq=1 sig=" + exampleSig + " x=1"), ErrRootSyntax},
		{"double space", root("e=" + e + "  l=" + l + " seq=1 sig=" + exampleSig), ErrRootSyntax},
		{"trailing space", root("e="+e+" l="+l+" seq=1 sig="+exampleSig) + " ", ErrRootSyntax},
		{"tab", root("e=" + e + "\tl=" + l + " seq=1 sig=" + exampleSig), ErrRootSyntax},
		{"seq negative", root("e=" + e + " l=" + l + " seq=-1 sig=" + exampleSig), ErrRootSyntax},
		{"seq plus", root("e=" + e + " l=" + l + " seq=+1 sig=" + exampleSig), ErrRootSyntax},
		{"seq leading zero", root("e=" + e + " l=" + l + " seq=01 sig=" + exampleSig), ErrRootSyntax},
		{"seq empty", root("e=" + e + " l=" + l + " seq= sig=" + exampleSig), ErrRootSyntax},
		{"seq overflow", root("e=" + e + " l=" + l + " seq=18446744073709551616 sig=" + exampleSig), ErrRootSyntax},
		{"seq hex", root("e=" + e + " l=" + l + " seq=0x1 sig=" + exampleSig), ErrRootSyntax},
		{"bad e hash", root("e=" + e[:10] + " l=" + l + " seq=1 sig=" + exampleSig), ErrBadHash},
		{"bad l base32", root("e=" + e + " l=" + strings.ToLower(l) + " seq=1 sig=" + exampleSig), ErrBadBase32},
		{"sig short", root("e=" + e + " l=" + l + " seq=1 sig=" + exampleSig[:86]), ErrBadSignature},
		{"sig std base64", root("e=" + e + " l=" + l + " seq=1 sig=" + strings.ReplaceAll(exampleSig, "_", "/")), ErrBadBase64},
		{"sig padded", root("e=" + e + " l=" + l + " seq=1 sig=" + exampleSig + "="), ErrBadSignature},
		{"sig non-canonical", root("e=" + e + " l=" + l + " seq=1 sig=" + exampleSig[:86] + "B"), ErrBadBase64},
		{"too long", root("e=" + e + " l=" + l + " seq=1 sig=" + exampleSig + strings.Repeat(" ", MaxEntryLength)), ErrEntryTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRoot(tc.text)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseRoot = %+v, %v; want error %v", r, err, tc.want)
			}
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Type != "root" {
				t.Fatalf("error %v is not a root EntryError", err)
			}
		})
	}
	// The largest sequence number parses.
	r, err := ParseRoot(root("e=" + e + " l=" + l + " seq=18446744073709551615 sig=" + exampleSig))
	if err != nil || r.Seq != 1<<64-1 {
		t.Fatalf("max seq: %v %v", r, err)
	}
}

func TestRootVerify(t *testing.T) {
	key := testKey(t, 1)
	r := &RootEntry{ENRRoot: "JWXYDBPXYWG6FX3GMDIBFA6CJ4", LinkRoot: "C7HRFPF3BLGF3YR4DY5KX3SMBE", Seq: 7}
	h := r.SigHash()
	sig, err := crypto.Sign(h[:], key)
	if err != nil {
		t.Fatal(err)
	}
	r.Sig = sig
	parsed, err := ParseRoot(r.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Verify(key.PubKey()); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	if err := parsed.Verify(testKey(t, 2).PubKey()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other key: %v", err)
	}
	// Any change to the signed part breaks the signature.
	parsed.Seq++
	if err := parsed.Verify(key.PubKey()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed seq: %v", err)
	}
	parsed.Seq--
	parsed.Sig = parsed.Sig[:64]
	if err := parsed.Verify(key.PubKey()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("short signature: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	u, err := ParseURL(exampleLink)
	if err != nil {
		t.Fatal(err)
	}
	if u.Domain != "morenodes.example.org" || u.String() != exampleLink {
		t.Fatalf("parsed %v as %+v, String %q", exampleLink, u, u.String())
	}
	key := testKey(t, 3)
	u2 := NewURL("a-b_c.example.org.", key.PubKey())
	back, err := ParseURL(u2.String())
	if err != nil || back.String() != u2.String() || !back.Pubkey.IsEqual(key.PubKey()) {
		t.Fatalf("round trip of %s: %v %v", u2, back, err)
	}

	longLabel := strings.Repeat("a", 64)
	longName := strings.Repeat("abcdefghi.", 26) + "org"
	prefix := "enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@"
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrBadURL},
		{"enrtree:/" + exampleLink[10:], ErrBadURL},
		{"ENRTREE://" + exampleLink[10:], ErrBadURL},
		{"enode://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@x.org", ErrBadURL},
		{prefix, ErrBadURL},
		{prefix + ".", ErrBadURL},
		{prefix + "a..b", ErrBadURL},
		{prefix + ".a.b", ErrBadURL},
		{prefix + "a b.org", ErrBadURL},
		{prefix + "a/b.org", ErrBadURL},
		{prefix + "x.org:53", ErrBadURL},
		{prefix + "x@y.org", ErrBadURL},
		{prefix + longLabel + ".org", ErrBadURL},
		{prefix + longName, ErrBadURL},
		{"enrtree://am5fcqlwizx2qfpnjap7vuerccrngrhwzg3yyhiuv7bvdq5fdprt2@x.org", ErrBadBase32},
		{"enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT3@x.org", ErrBadBase32}, // non-zero padding bit
		{"enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2AA@x.org", ErrBadPubkey},
		{"enrtree://" + strings.Repeat("A", 53) + "@x.org", ErrBadPubkey}, // 0x00 prefix
		{"enrtree://" + strings.Repeat("A", 5000) + "@x.org", ErrBadURL},
	} {
		if u, err := ParseURL(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("ParseURL(%.60q) = %+v, %v; want %v", tc.in, u, err, tc.want)
		}
	}
}

// The ENR leaves of trees are verified with the client's schemes.
func TestParseENRSchemes(t *testing.T) {
	if _, err := parseEntry(exampleENR, enr.SchemeMap{"v4": enr.V4ID{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := parseEntry(exampleENR, enr.SchemeMap{}); !errors.Is(err, ErrBadENR) || !errors.Is(err, enr.ErrUnknownScheme) {
		t.Fatalf("record of an unaccepted scheme: %v", err)
	}
}
