package p2pinterop

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/interop/internal/tools"
)

// "trellis rlpx ping" prints the Hello of a go-ethereum node and of a
// Trellis node, and the reason of one that refuses us.
func TestRLPxPingCommand(t *testing.T) {
	bin := tools.Trellis(t)
	ping := func(t *testing.T, url string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "rlpx", "ping", "--timeout", "10s", url)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	for _, mk := range []func(testing.TB, nodeOpts) node{
		func(t testing.TB, o nodeOpts) node { return newGeth(t, o) },
		func(t testing.TB, o nodeOpts) node { return newTrellis(t, o) },
	} {
		n := mk(t, nodeOpts{})
		t.Run(n.impl(), func(t *testing.T) {
			out, errOut, err := ping(t, n.url())
			if err != nil {
				t.Fatalf("trellis rlpx ping %s: %v\n%s", n.url(), err, errOut)
			}
			t.Logf("output:\n%s", out)
			name := map[string]string{"geth": "geth/interop", "trellis": "trellis/interop"}[n.impl()]
			// Trellis announces its listening port (rlpx.md); go-ethereum
			// leaves the field 0.
			port := n.port()
			if n.impl() == "geth" {
				port = 0
			}
			for _, want := range []string{
				"name:        " + name + "\n",
				"version:     5\n",
				"caps:        itp/1\n",
				fmt.Sprintf("listen port: %d\n", port),
				fmt.Sprintf("id:          %x\n", n.key().id()),
				fmt.Sprintf("key:         %x\n", crypto.MarshalPubkey(n.key().pub())[1:]),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
		})
		full := mk(t, nodeOpts{maxPeers: 1, noDial: true})
		connect(t, newLike(t, full, nodeOpts{}), full)
		t.Run(n.impl()+"-full", func(t *testing.T) {
			out, errOut, err := ping(t, full.url())
			t.Logf("stderr: %s", errOut)
			if err == nil || out != "" {
				t.Fatalf("exit %v, stdout %q; want failure", err, out)
			}
			if !strings.Contains(errOut, "the node disconnected us: too many peers (reason 0x04)") {
				t.Errorf("stderr %q lacks the reason", errOut)
			}
		})
	}
}
