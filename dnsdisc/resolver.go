package dnsdisc

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// Resolver looks up the TXT records of a DNS name. *net.Resolver satisfies
// it; so do the adapters below. Each returned string is one TXT record,
// its character-strings joined.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NetResolver adapts a net.Resolver (nil: net.DefaultResolver) so that
// every name is looked up as fully qualified. Tree names are absolute
// (dnsdisc.md "URL Scheme" calls them FQDNs), and without the final dot a
// name that does not exist would also be tried under each search domain of
// resolv.conf.
type NetResolver struct {
	R *net.Resolver
}

func (r NetResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	res := r.R
	if res == nil {
		res = net.DefaultResolver
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return res.LookupTXT(ctx, name)
}

// NewServerResolver returns a resolver that sends every query to the DNS
// server at addr ("ip:port"), over UDP and, for truncated answers, TCP,
// whatever the system configuration says.
func NewServerResolver(addr string) (Resolver, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("dnsdisc: invalid DNS server address %q: %w", addr, err)
	}
	var d net.Dialer
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	return serverResolver{NetResolver{r}, addr}, nil
}

type serverResolver struct {
	NetResolver
	addr string
}

// LookupTXT names the server in errors: net.DNSError names the one of
// resolv.conf even when the query went elsewhere.
func (r serverResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, err := r.NetResolver.LookupTXT(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", r.addr, err)
	}
	return txt, nil
}

// MapResolver serves TXT records from a map of name to record text, such
// as Tree.ToTXT returns. It is the test double of a DNS server; a name
// missing from the map has no records.
type MapResolver map[string]string

func (m MapResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if txt, ok := m[strings.TrimSuffix(name, ".")]; ok {
		return []string{txt}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// ResolverFunc makes a function a Resolver.
type ResolverFunc func(ctx context.Context, name string) ([]string, error)

func (f ResolverFunc) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return f(ctx, name)
}
