package dnsdisc

import (
	"errors"
	"testing"
)

// Every entry that parses is written back byte for byte (its hash, and so
// its name, depends on that), and every failure is a typed EntryError.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{
		exampleENR, exampleBranch, exampleLink, exampleRoot, "enrtree-branch:",
		"enrtree-branch:AAAAAAAAAAAAAAAAAAAA", "enr:", "enrtree://", "enr:-HW4QOFz", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEntry(s)
		if err != nil {
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an EntryError", err)
			}
			return
		}
		if e.String() != s {
			t.Fatalf("ParseEntry(%q).String() = %q", s, e.String())
		}
		if len(s) > MaxEntryLength {
			t.Fatalf("entry of %d bytes accepted", len(s))
		}
		if b, ok := e.(*BranchEntry); ok {
			for _, c := range b.Children {
				if _, err := parseHash(c); err != nil {
					t.Fatalf("branch child %q: %v", c, err)
				}
			}
		}
	})
}

func FuzzParseRoot(f *testing.F) {
	f.Add(exampleRoot)
	f.Add("enrtree-root:v1 e=AAAAAAAAAAAAAAAAAAAA l=AAAAAAAAAAAAAAAAAAAA seq=0 sig=" + exampleSig)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRoot(s)
		if err != nil {
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Type != "root" {
				t.Fatalf("error %v is not a root EntryError", err)
			}
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRoot(%q).String() = %q", s, r.String())
		}
		if len(r.Sig) != 65 {
			t.Fatalf("signature of %d bytes accepted", len(r.Sig))
		}
	})
}

// A URL that parses is canonical: its String is the input.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		exampleLink,
		"enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org.",
		"enrtree://AM5FCQLWIZX2QFPNJAP7VUERCCRNGRHWZG3YYHIUV7BVDQ5FDPRT2@a_b-c.d",
		"enrtree://@x", "enrtree://", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			if !errors.Is(err, ErrBadURL) && !errors.Is(err, ErrBadBase32) && !errors.Is(err, ErrBadPubkey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if u.String() != s {
			t.Fatalf("ParseURL(%q).String() = %q", s, u.String())
		}
		if err := checkDomain(u.Domain); err != nil {
			t.Fatalf("domain %q accepted: %v", u.Domain, err)
		}
	})
}
