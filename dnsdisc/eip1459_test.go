package dnsdisc

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
)

// eip1459 is testdata/eip1459.json, the example of EIP-1459 and dnsdisc.md.
type eip1459 struct {
	URL       string `json:"example_url"`
	Domain    string `json:"example_url_domain"`
	PublicKey string `json:"public_key"`
	Records   []struct {
		Name    string `json:"name"`
		Content string `json:"content"`
	} `json:"txt_records"`
}

func loadEIP1459(t *testing.T) (eip1459, map[string]string) {
	t.Helper()
	var v eip1459
	data, err := os.ReadFile("testdata/eip1459.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	records := make(map[string]string)
	for _, r := range v.Records {
		name := v.Domain
		if r.Name != "@" {
			name = subdomain(r.Name, v.Domain)
		}
		records[name] = r.Content
	}
	return v, records
}

// TestEIP1459Example checks the published example. Its URL and the public
// key its text names disagree; the root signature verifies under the named
// key, not under the URL's.
func TestEIP1459Example(t *testing.T) {
	v, records := loadEIP1459(t)
	u, err := ParseURL(v.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Domain != v.Domain {
		t.Fatalf("URL domain %q, want %q", u.Domain, v.Domain)
	}
	statedBytes, err := hex.DecodeString(strings.TrimPrefix(v.PublicKey, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	stated, err := crypto.UnmarshalPubkey(statedBytes)
	if err != nil {
		t.Fatal(err)
	}
	// Fact 1: the URL's key is not the stated key.
	if u.Pubkey.IsEqual(stated) {
		t.Fatal("the example URL key equals the stated public key; the vector's note says they differ")
	}
	if got := hex.EncodeToString(crypto.CompressPubkey(u.Pubkey)); !strings.HasPrefix(got, "033a5141") {
		t.Errorf("URL key is %s, the vector's note says 0x033a5141...", got)
	}
	statedURL := NewURL(v.Domain, stated).String()
	if want := "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@nodes.example.org"; statedURL != want {
		t.Errorf("URL of the stated key is %s, want %s", statedURL, want)
	}

	// Fact 2: the root signature verifies under the stated key only.
	root, err := ParseRoot(records[v.Domain])
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Verify(stated); err != nil {
		t.Fatalf("root does not verify under the stated key: %v", err)
	}
	if err := root.Verify(u.Pubkey); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("root under the URL key: %v, want ErrBadSignature", err)
	}

	// Every subdomain is the hash of its content.
	for _, r := range v.Records {
		if r.Name == "@" {
			continue
		}
		if got := EntryHash(r.Content); got != r.Name {
			t.Errorf("entry at %s hashes to %s", r.Name, got)
		}
		if _, err := ParseEntry(r.Content); err != nil {
			t.Errorf("entry at %s: %v", r.Name, err)
		}
	}

	// A sync with the URL as published fails on the signature; with the
	// stated key it finds the three nodes and the link.
	ctx := context.Background()
	c := NewClient(fastConfig(MapResolver(records)))
	if _, err := c.SyncTree(ctx, v.URL); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("sync of the published URL: %v, want ErrBadSignature", err)
	}
	tree, err := c.SyncTree(ctx, statedURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Nodes()) != 3 || len(tree.Links()) != 1 || tree.Links()[0] != records[subdomain("C7HRFPF3BLGF3YR4DY5KX3SMBE", v.Domain)] {
		t.Fatalf("synced %d nodes, links %v", len(tree.Nodes()), tree.Links())
	}
	if tree.Seq() != 1 || tree.Signature() != exampleSig {
		t.Errorf("seq %d sig %s", tree.Seq(), tree.Signature())
	}
	// The synced tree publishes the same records again.
	if got := tree.ToTXT(v.Domain); !maps.Equal(got, records) {
		t.Errorf("ToTXT of the synced tree differs:\n%v\n%v", got, records)
	}
}
