package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/dnsdisc"
	"github.com/trellis-p2p/trellis/dnsdisc/dnsbed"
)

// gethTree is dnsdisc/testdata/gethtree.json: a tree made by go-ethereum.
func gethTree(t *testing.T) (url string, records map[string]string) {
	t.Helper()
	var g struct {
		URL     string            `json:"url"`
		Records map[string]string `json:"records"`
	}
	data, err := os.ReadFile("../../dnsdisc/testdata/gethtree.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g.URL, g.Records
}

// copyGethDir copies dnsdisc/testdata/gethdir, a tree directory in
// go-ethereum's layout, to a directory named name.
func copyGethDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dir, os.DirFS("../../dnsdisc/testdata/gethdir")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readTXT(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("to-txt output is not a JSON object: %v\n%s", err, data)
	}
	return m
}

// A directory signed by go-ethereum exports the records go-ethereum
// published.
func TestDNSToTXTGethDir(t *testing.T) {
	_, records := gethTree(t)
	dir := copyGethDir(t, "tree")
	code, out, errOut := trellis(t, "dns", "to-txt", dir)
	if code != 0 {
		t.Fatalf("to-txt: %d %s", code, errOut)
	}
	if got := readTXT(t, []byte(out)); !maps.Equal(got, records) {
		t.Fatalf("to-txt gave\n%v\nwant\n%v", got, records)
	}
	file := filepath.Join(t.TempDir(), "txt.json")
	if code, _, errOut := trellis(t, "dns", "to-txt", dir, file); code != 0 {
		t.Fatalf("to-txt to a file: %d %s", code, errOut)
	}
	data, _ := os.ReadFile(file)
	if got := readTXT(t, data); !maps.Equal(got, records) {
		t.Fatal("to-txt file differs from stdout")
	}
}

func TestDNSSign(t *testing.T) {
	dir := copyGethDir(t, "nodes.test.example")
	os.Remove(filepath.Join(dir, dnsdisc.MetaFile)) // a fresh tree: nodes.json only
	key := filepath.Join(t.TempDir(), "key")
	if code, _, errOut := trellis(t, "key", "generate", key); code != 0 {
		t.Fatal(errOut)
	}

	// Unsigned: to-txt refuses.
	if code, _, errOut := trellis(t, "dns", "to-txt", dir); code != 1 || !strings.Contains(errOut, "sign the tree first") {
		t.Fatalf("to-txt of an unsigned tree: %d %s", code, errOut)
	}

	// The domain defaults to the directory name, seq to 0+1.
	code, out, errOut := trellis(t, "dns", "sign", dir, key)
	if code != 0 {
		t.Fatalf("sign: %d %s", code, errOut)
	}
	url := strings.TrimSpace(out)
	u, err := dnsdisc.ParseURL(url)
	if err != nil || u.Domain != "nodes.test.example" {
		t.Fatalf("sign printed %q: %v", out, err)
	}
	def, err := dnsdisc.ReadTreeDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if def.Meta.URL != url || def.Meta.Seq != 1 || def.Meta.Sig == "" {
		t.Fatalf("enrtree-info.json after sign: %+v", def.Meta)
	}

	// Signing again bumps seq and keeps the domain of the URL.
	if code, _, errOut := trellis(t, "dns", "sign", dir, key); code != 0 {
		t.Fatal(errOut)
	}
	if def, _ = dnsdisc.ReadTreeDir(dir); def.Meta.Seq != 2 || def.Meta.URL != url {
		t.Fatalf("second sign: %+v", def.Meta)
	}
	// --seq and --domain set them.
	code, out, errOut = trellis(t, "dns", "sign", "--seq", "40", "--domain", "other.example.org", dir, key)
	if code != 0 {
		t.Fatal(errOut)
	}
	if def, _ = dnsdisc.ReadTreeDir(dir); def.Meta.Seq != 40 || !strings.HasSuffix(strings.TrimSpace(out), "@other.example.org") {
		t.Fatalf("sign --seq --domain: %+v, %s", def.Meta, out)
	}

	// The exported records verify: root under the URL's key, every entry
	// under its hash.
	code, out, errOut = trellis(t, "dns", "to-txt", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	txt := readTXT(t, []byte(out))
	c := dnsdisc.NewClient(dnsdisc.Config{Resolver: dnsdisc.MapResolver(txt), RateLimit: -1})
	tree, err := c.SyncTree(t.Context(), strings.TrimSpace(def.Meta.URL))
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Nodes()) != 5 || tree.Seq() != 40 {
		t.Fatalf("synced %d nodes, seq %d", len(tree.Nodes()), tree.Seq())
	}

	// Another key: signed, with a warning.
	key2 := filepath.Join(t.TempDir(), "key2")
	trellis(t, "key", "generate", key2)
	if code, _, errOut := trellis(t, "dns", "sign", dir, key2); code != 0 || !strings.Contains(errOut, "signing key changed") {
		t.Fatalf("sign with another key: %d %s", code, errOut)
	}
}

func TestDNSCommandErrors(t *testing.T) {
	dir := copyGethDir(t, "tree")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dns", "sign", dir}, 2, "expected two arguments"},
		{[]string{"dns", "sign", dir, filepath.Join(dir, "nodes.json")}, 1, "64 hex characters"},
		{[]string{"dns", "sign", t.TempDir(), filepath.Join(dir, "nodes.json")}, 1, "nodes.json"},
		{[]string{"dns", "sign", "--seq", "-1", dir, "x"}, 2, "invalid value"},
		{[]string{"dns", "to-txt"}, 2, "expected the tree directory"},
		{[]string{"dns", "sync"}, 2, "expected the enrtree:// URL"},
		{[]string{"dns", "sync", "enrtree://bad@x.org"}, 2, "invalid public key"},
		{[]string{"dns", "sync", "--server", "127.0.0.1", "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@x.org"}, 2, "--server"},
		{[]string{"dns", "sync", "--rate", "0", "enrtree://AKPYQIUQIL7PSIACI32J7FGZW56E5FKHEFCCOFHILBIMW3M6LWXS2@x.org"}, 2, "positive"},
	} {
		code, _, errOut := trellis(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
	// A key file in go-ethereum's encrypted keystore format is not taken
	// for a node key.
	ks := filepath.Join(t.TempDir(), "keystore.json")
	os.WriteFile(ks, []byte(`{"address":"00","crypto":{}}`), 0o600)
	if code, _, errOut := trellis(t, "dns", "sign", dir, ks); code != 1 || !strings.Contains(errOut, "signing key") {
		t.Errorf("keystore file: %d %s", code, errOut)
	}
}

// dns sync against a real DNS server (dnsmasq), saving a directory that
// exports the same records again.
func TestDNSSyncServer(t *testing.T) {
	url, records := gethTree(t)
	addr := dnsbed.Start(t, records)
	dir := filepath.Join(t.TempDir(), "synced")
	code, out, errOut := trellis(t, "dns", "sync", "--server", addr, url, dir)
	if code != 0 {
		t.Fatalf("sync: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || lines[5] != "# 5 nodes, 0 links" {
		t.Fatalf("sync output:\n%s", out)
	}
	for _, l := range lines[:5] {
		if !strings.HasPrefix(l, "enr:-") {
			t.Fatalf("not a record: %q", l)
		}
	}
	if !strings.Contains(errOut, "syncing "+url) || !strings.Contains(errOut, "done: seq 1, 8 entries in 8 lookups") {
		t.Errorf("progress on stderr: %q", errOut)
	}
	code, txt, errOut := trellis(t, "dns", "to-txt", dir)
	if code != 0 {
		t.Fatalf("to-txt of the synced directory: %s", errOut)
	}
	if got := readTXT(t, []byte(txt)); !maps.Equal(got, records) {
		t.Fatal("the synced directory exports different records")
	}

	// A name the server does not have.
	missing := strings.Replace(url, "@nodes.", "@missing.", 1)
	code, _, errOut = trellis(t, "dns", "sync", "--server", addr, "--timeout", "2s", missing)
	if code != 1 || !strings.Contains(errOut, "missing.example.org") || !strings.Contains(errOut, addr) {
		t.Fatalf("sync of a missing tree: %d %s", code, errOut)
	}
}
