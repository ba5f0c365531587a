package dnsinterop

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gcrypto "github.com/ethereum/go-ethereum/crypto"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/dnsdisc"
	"github.com/trellis-p2p/trellis/interop/internal/tools"
)

// Tree directories move between "trellis dns" and go-ethereum's "devp2p
// dns": each tool signs, the other exports the same records. The test needs
// the devp2p binary (go install github.com/ethereum/go-ethereum/cmd/devp2p@v1.17.10)
// in PATH or GOPATH/bin, and builds the trellis command.
func TestDevp2pDirectories(t *testing.T) {
	devp2p := tools.Devp2p(t)
	trellis := tools.Trellis(t)
	rng := rand.New(rand.NewPCG(1459, 4))
	nodes := makeNodes(t, rng, 40)
	links := makeLinks(t, rng, 2)
	k := newKey(t, rng)

	newDir := func(t *testing.T, name string, links []string) string {
		dir := filepath.Join(t.TempDir(), name)
		if err := dnsdisc.WriteNodeSet(dir, dnsdisc.NewNodeSet(nodes.t)); err != nil {
			t.Fatal(err)
		}
		if err := dnsdisc.WriteTreeMeta(dir, dnsdisc.TreeMeta{Seq: 3, Links: links}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	toTXT := func(t *testing.T, tool, dir string) map[string]string {
		out := filepath.Join(t.TempDir(), "txt.json")
		run(t, "", tool, "dns", "to-txt", dir, out)
		var m map[string]string
		data, _ := os.ReadFile(out)
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s dns to-txt wrote %q: %v", filepath.Base(tool), data, err)
		}
		return m
	}

	t.Run("signed by trellis", func(t *testing.T) {
		dir := newDir(t, "trellis-signed.example.org", links)
		keyfile := filepath.Join(t.TempDir(), "nodekey")
		if err := crypto.SaveNodeKey(keyfile, k.t); err != nil {
			t.Fatal(err)
		}
		url := strings.TrimSpace(run(t, "", trellis, "dns", "sign", dir, keyfile))
		want := toTXT(t, trellis, dir)
		if got := toTXT(t, devp2p, dir); !maps.Equal(got, want) {
			t.Fatalf("devp2p exports different records:\n%v\n%v", got, want)
		}
		// Leaves, ENR branches, links, link branch, root.
		if !strings.HasSuffix(url, "@trellis-signed.example.org") || len(want) != 40+4+2+1+1 {
			t.Fatalf("url %s, %d records", url, len(want))
		}
	})

	t.Run("signed by devp2p", func(t *testing.T) {
		// One link only: devp2p dns sign (v1.17.10) writes the links of
		// the signed tree to enrtree-info.json in map order, so with two
		// or more the file's order differs from the signed one half of the
		// time, and neither devp2p nor trellis can then export the tree
		// ("invalid signature"). Trellis writes them in tree order.
		dir := newDir(t, "geth-signed.example.org", links[:1])
		ks := filepath.Join(t.TempDir(), "keystore.json")
		writeKeystore(t, ks, k.g, "secret")
		run(t, "secret\n", devp2p, "dns", "sign", dir, ks)
		def, err := dnsdisc.ReadTreeDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if def.Meta.Seq != 4 || !strings.HasSuffix(def.Meta.URL, "@geth-signed.example.org") {
			t.Fatalf("devp2p wrote %+v", def.Meta)
		}
		want := toTXT(t, devp2p, dir)
		if got := toTXT(t, trellis, dir); !maps.Equal(got, want) {
			t.Fatalf("trellis exports different records:\n%v\n%v", got, want)
		}
		// Trellis signs the directory devp2p signed: seq 5, same URL.
		keyfile := filepath.Join(t.TempDir(), "nodekey")
		if err := crypto.SaveNodeKey(keyfile, k.t); err != nil {
			t.Fatal(err)
		}
		if url := strings.TrimSpace(run(t, "", trellis, "dns", "sign", dir, keyfile)); url != def.Meta.URL {
			t.Fatalf("re-signed URL %s, was %s", url, def.Meta.URL)
		}
		if got, want := toTXT(t, devp2p, dir), toTXT(t, trellis, dir); !maps.Equal(got, want) {
			t.Fatal("records differ after trellis re-signed")
		}
	})
}

func run(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// writeKeystore writes k as a go-ethereum keystore file (version 3, PBKDF2
// with few rounds to keep the test fast), the key format devp2p dns sign
// reads.
func writeKeystore(t *testing.T, path string, k *ecdsa.PrivateKey, password string) {
	t.Helper()
	salt, iv := make([]byte, 32), make([]byte, aes.BlockSize)
	for i := range salt {
		salt[i] = byte(i)
	}
	const rounds = 1024
	dk, err := pbkdf2.Key(sha256.New, password, salt, rounds, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(dk[:16])
	if err != nil {
		t.Fatal(err)
	}
	plain := gcrypto.FromECDSA(k)
	ct := make([]byte, len(plain))
	cipher.NewCTR(block, iv).XORKeyStream(ct, plain)
	mac := gcrypto.Keccak256(dk[16:32], ct)
	ks := map[string]any{
		"address": hex.EncodeToString(gcrypto.PubkeyToAddress(k.PublicKey).Bytes()),
		"crypto": map[string]any{
			"cipher":       "aes-128-ctr",
			"ciphertext":   hex.EncodeToString(ct),
			"cipherparams": map[string]string{"iv": hex.EncodeToString(iv)},
			"kdf":          "pbkdf2",
			"kdfparams":    map[string]any{"c": rounds, "dklen": 32, "prf": "hmac-sha256", "salt": hex.EncodeToString(salt)},
			"mac":          hex.EncodeToString(mac),
		},
		"id":      "3198bc9c-6672-5ab3-d995-4942343ae5b6",
		"version": 3,
	}
	data, err := json.Marshal(ks)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
