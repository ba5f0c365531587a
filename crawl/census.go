package crawl

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Census counts the nodes of a crawl by client and by capability.
type Census struct {
	Nodes      int            `json:"nodes"`
	Records    int            `json:"records"` // nodes that answered the record request
	Hellos     int            `json:"hellos"`
	DialErrors int            `json:"dialErrors"`
	Clients    map[string]int `json:"clients"` // by client name: the Hello name up to the first '/'
	Caps       map[string]int `json:"caps"`    // by capability, e.g. "eth/68"
}

// Census counts r's nodes.
func (r *Result) Census() Census {
	c := Census{Nodes: len(r.Nodes), Clients: map[string]int{}, Caps: map[string]int{}}
	for _, n := range r.Nodes {
		if n.ENRError == "" {
			c.Records++
		}
		if n.DialError != "" {
			c.DialErrors++
		}
		if n.Hello == nil {
			continue
		}
		c.Hellos++
		c.Clients[ClientName(n.Hello.Name)]++
		for _, cp := range n.Hello.Caps {
			c.Caps[cp]++
		}
	}
	return c
}

// ClientName is the client part of a Hello name such as
// "Geth/v1.17.10-stable/linux-amd64/go1.25": the text before the first '/',
// or "(empty)".
func ClientName(name string) string {
	client, _, _ := strings.Cut(name, "/")
	if client == "" {
		return "(empty)"
	}
	return client
}

// WriteTo writes the census as a table, most frequent first.
func (c Census) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "nodes: %d, records: %d, hellos: %d, dial errors: %d\n", c.Nodes, c.Records, c.Hellos, c.DialErrors)
	writeCounts(&b, "clients", c.Clients)
	writeCounts(&b, "capabilities", c.Caps)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func writeCounts(b *strings.Builder, title string, m map[string]int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	fmt.Fprintf(b, "%s:\n", title)
	if len(keys) == 0 {
		fmt.Fprintf(b, "  (none)\n")
	}
	for _, k := range keys {
		fmt.Fprintf(b, "  %-32s %d\n", k, m[k])
	}
}
