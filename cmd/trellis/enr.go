package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/rlp"
)

func init() {
	register(&command{
		name:    "enr decode",
		args:    "<enr:... | enode://...>",
		summary: "print the content of a node record, and whether its signature is valid",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			asJSON := fs.Bool("json", false, "print one JSON object instead of text")
			return func(_ context.Context, env *cmdEnv) error {
				if len(env.args) != 1 {
					return usageErrorf("expected one argument: a record in text form (enr:...) or an enode:// URL")
				}
				return enrDecode(env, strings.TrimSpace(env.args[0]), *asJSON)
			}
		},
	})
}

// enrSummary is the decoded view of a record printed by "enr decode".
type enrSummary struct {
	NodeID    string            `json:"id,omitempty"`
	Seq       uint64            `json:"seq"`
	Signature string            `json:"signature,omitempty"`
	Valid     bool              `json:"valid"`
	Error     string            `json:"error,omitempty"`
	IP        string            `json:"ip,omitempty"`
	IP6       string            `json:"ip6,omitempty"`
	TCP       int               `json:"tcp,omitempty"`
	UDP       int               `json:"udp,omitempty"`
	Pairs     map[string]string `json:"pairs"`
	Enode     string            `json:"enode,omitempty"`
	Size      int               `json:"size"`
}

func enrDecode(env *cmdEnv, text string, asJSON bool) error {
	var r *enr.Record
	switch {
	case strings.HasPrefix(text, "enr:"):
		var err error
		if r, err = enr.ParseText(text); err != nil {
			return fmt.Errorf("invalid record: %w", err)
		}
	case strings.HasPrefix(text, "enode://"):
		n, err := enode.ParseV4(text)
		if err != nil {
			return fmt.Errorf("invalid enode URL: %w", err)
		}
		r = n.Record()
	default:
		return usageErrorf("%q is neither an enr: record nor an enode:// URL", text)
	}
	s := summarize(r)
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	w := env.stdout
	if s.NodeID != "" {
		fmt.Fprintf(w, "Node ID:   %s\n", s.NodeID)
	}
	fmt.Fprintf(w, "Sequence:  %d\n", s.Seq)
	fmt.Fprintf(w, "Size:      %d bytes\n", s.Size)
	switch {
	case s.Valid:
		fmt.Fprintf(w, "Signature: valid (%s)\n", s.Signature)
	case s.Signature == "":
		fmt.Fprintln(w, "Signature: none")
	default:
		fmt.Fprintf(w, "Signature: INVALID: %s\n", s.Error)
	}
	if s.Enode != "" {
		fmt.Fprintf(w, "enode:     %s\n", s.Enode)
	}
	fmt.Fprintln(w, "Pairs:")
	for _, k := range r.Keys() {
		fmt.Fprintf(w, "  %-10s %s\n", k, s.Pairs[k])
	}
	return nil
}

func summarize(r *enr.Record) enrSummary {
	s := enrSummary{Seq: r.Seq(), Pairs: map[string]string{}, Size: r.Size()}
	if sig := r.Signature(); len(sig) > 0 {
		s.Signature = hex.EncodeToString(sig)
	}
	var ip4 enr.IPv4
	if r.Load(&ip4) == nil {
		s.IP = netip.Addr(ip4).String()
	}
	var ip6 enr.IPv6
	if r.Load(&ip6) == nil {
		s.IP6 = netip.Addr(ip6).String()
	}
	var tcp enr.TCP
	if r.Load(&tcp) == nil {
		s.TCP = int(tcp)
	}
	var udp enr.UDP
	if r.Load(&udp) == nil {
		s.UDP = int(udp)
	}
	for _, k := range r.Keys() {
		raw, _ := r.RawValue(k)
		s.Pairs[k] = describeValue(k, raw)
	}
	if s.Signature != "" {
		if n, err := enode.New(r); err != nil {
			s.Error = err.Error()
		} else {
			s.Valid = true
			s.NodeID = n.ID().String()
			if n.IPAddr().IsValid() && n.TCP() != 0 {
				s.Enode = n.URLv4()
			}
		}
	}
	return s
}

// describeValue renders a record value for people: the known keys by their
// meaning, anything else as its RLP in hex.
func describeValue(key string, raw []byte) string {
	content, _, err := rlp.SplitString(raw)
	if err == nil {
		switch key {
		case "id":
			return fmt.Sprintf("%q", content)
		case "ip", "ip6":
			if a, ok := netip.AddrFromSlice(content); ok {
				return a.String()
			}
		case "tcp", "udp", "tcp6", "udp6", "quic", "quic6":
			if v, _, err := rlp.SplitUint64(raw); err == nil {
				return fmt.Sprint(v)
			}
		case "secp256k1":
			return hex.EncodeToString(content)
		}
	}
	return "0x" + hex.EncodeToString(raw) + " (raw RLP)"
}
