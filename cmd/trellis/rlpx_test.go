package main

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/p2p"
)

// startP2P runs a Trellis p2p server on 127.0.0.1 with one protocol, tst/1,
// that idles until the peer goes.
func startP2P(t *testing.T, maxPeers int) (*p2p.Server, *crypto.PrivateKey) {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := &p2p.Server{Config: p2p.Config{
		PrivateKey: key,
		Name:       "trellis-test/v1",
		MaxPeers:   maxPeers,
		NoDial:     true,
		ListenAddr: "127.0.0.1:0",
		Logger:     slog.New(slog.DiscardHandler),
		Protocols: []p2p.Protocol{{Name: "tst", Version: 1, Length: 3, Run: func(_ *p2p.Peer, rw p2p.MsgReadWriter) error {
			for {
				msg, err := rw.ReadMsg()
				if err != nil {
					return err
				}
				msg.Discard()
			}
		}}},
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, key
}

func enodeURL(key *crypto.PrivateKey, host string, port int) string {
	return fmt.Sprintf("enode://%x@%s", crypto.MarshalPubkey(key.PubKey())[1:], net.JoinHostPort(host, fmt.Sprint(port)))
}

func TestRLPxPing(t *testing.T) {
	srv, key := startP2P(t, 10)
	port := srv.Addr().(*net.TCPAddr).Port
	url := srv.Self().URLv4()
	code, out, errOut := trellis(t, "rlpx", "ping", "--timeout", "5s", url)
	if code != 0 {
		t.Fatalf("rlpx ping %s: exit %d, stderr %q", url, code, errOut)
	}
	t.Logf("stdout:\n%s", out)
	for _, want := range []string{
		"Connected to 127.0.0.1:" + fmt.Sprint(port),
		"name:        trellis-test/v1\n",
		"version:     5\n",
		"caps:        tst/1\n",
		fmt.Sprintf("listen port: %d\n", port),
		fmt.Sprintf("id:          %s\n", enode.PubkeyToIDV4(key.PubKey())),
		fmt.Sprintf("key:         %x\n", crypto.MarshalPubkey(key.PubKey())[1:]),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "warning") {
		t.Errorf("unexpected warning:\n%s", out)
	}

	// A DNS name in the URL is resolved, and --nodekey sets our identity.
	dir := t.TempDir()
	nodekey := filepath.Join(dir, "nodekey")
	if code, _, errOut := trellis(t, "key", "generate", nodekey); code != 0 {
		t.Fatal(errOut)
	}
	byName := enodeURL(key, "localhost", port)
	code, out, errOut = trellis(t, "rlpx", "ping", "--nodekey", nodekey, byName)
	if code != 0 || !strings.Contains(out, "caps:        tst/1\n") {
		t.Fatalf("rlpx ping %s: exit %d\nstdout %q\nstderr %q", byName, code, out, errOut)
	}
}

// A full server refuses us before Hello; the command says why.
func TestRLPxPingTooManyPeers(t *testing.T) {
	srv, _ := startP2P(t, 0)
	code, out, errOut := trellis(t, "rlpx", "ping", srv.Self().URLv4())
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q, want 1 and nothing", code, out)
	}
	t.Logf("stderr: %s", errOut)
	if !strings.Contains(errOut, "the node disconnected us: too many peers (reason 0x04)") ||
		!strings.Contains(errOut, "trusted peer") {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestRLPxPingErrors(t *testing.T) {
	key, _ := crypto.GenerateKey()
	other, _ := crypto.GenerateKey()

	// A port with nothing listening: take one and release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()

	// A listener that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := silent.Accept(); err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	defer func() {
		silent.Close()
		if c := <-accepted; c != nil {
			c.Close()
		}
	}()

	// A server whose key is not the one in the URL.
	srv, _ := startP2P(t, 10)
	wrongKey := enodeURL(other, "127.0.0.1", srv.Addr().(*net.TCPAddr).Port)

	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"bad URL", []string{"enode://1234@127.0.0.1:1"}, 2, []string{"invalid node", "128 hex digits", "--help"}},
		{"no argument", nil, 2, []string{"expected one argument"}},
		{"refused", []string{enodeURL(key, "127.0.0.1", closedPort)}, 1, []string{"connection refused", "is the node running"}},
		{"timeout", []string{"--timeout", "300ms", enodeURL(key, "127.0.0.1", silent.Addr().(*net.TCPAddr).Port)}, 1,
			[]string{"handshake 127.0.0.1:", "timed out", "no answer within 300ms", "--timeout"}},
		{"wrong key", []string{"--timeout", "5s", wrongKey}, 1, []string{"handshake", "public key in the URL"}},
		{"bad nodekey", []string{"--nodekey", filepath.Join(t.TempDir(), "missing"), srv.Self().URLv4()}, 1, []string{"cannot read --nodekey"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := trellis(t, append([]string{"rlpx", "ping"}, tc.args...)...)
			t.Logf("stderr: %s", errOut)
			if code != tc.code || out != "" {
				t.Fatalf("exit %d, stdout %q; want exit %d and no output\nstderr %q", code, out, tc.code, errOut)
			}
			for _, w := range tc.wants {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q: %q", w, errOut)
				}
			}
		})
	}
}
