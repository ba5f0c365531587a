package nat

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// fakeSTUN answers Binding requests on loopback with reply.
func fakeSTUN(t *testing.T, reply func(req *stun.Message) []byte) string {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil {
				continue
			}
			if b := reply(req); b != nil {
				conn.WriteToUDPAddrPort(b, from)
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return conn.LocalAddr().String()
}

func stunReply(t testing.TB, req *stun.Message, setters ...stun.Setter) []byte {
	m, err := stun.Build(append([]stun.Setter{stun.NewTransactionIDSetter(req.TransactionID)}, setters...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

func TestSTUN(t *testing.T) {
	mapped := &stun.XORMappedAddress{IP: net.IPv4(203, 0, 113, 44), Port: 40000}
	addr := fakeSTUN(t, func(req *stun.Message) []byte {
		if req.Type != stun.BindingRequest {
			return nil
		}
		return stunReply(t, req, stun.BindingSuccess, mapped, stun.Fingerprint)
	})
	g, err := STUN(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 5*time.Second)
	ip, err := g.ExternalIP(ctx)
	if err != nil || ip != netip.MustParseAddr("203.0.113.44") {
		t.Fatalf("ExternalIP: %v %v", ip, err)
	}
	// Mapping is manual with STUN.
	l, err := g.MapPort(ctx, Request{Protocol: TCP, InternalPort: 30303, Lifetime: time.Hour})
	if err != nil || l.ExternalPort != 30303 || l.Lifetime != 0 {
		t.Fatalf("MapPort: %+v %v", l, err)
	}
}

func TestSTUNBadResponses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(t *testing.T, req *stun.Message) []byte
		want  error
	}{
		{"garbage", func(*testing.T, *stun.Message) []byte { return []byte("hello") }, ErrBadValue},
		{"error response", func(t *testing.T, req *stun.Message) []byte {
			return stunReply(t, req, stun.BindingError, stun.CodeServerError)
		}, &STUNError{}},
		{"no address", func(t *testing.T, req *stun.Message) []byte {
			return stunReply(t, req, stun.BindingSuccess)
		}, ErrBadValue},
		{"a request", func(t *testing.T, req *stun.Message) []byte {
			return stunReply(t, req, stun.BindingRequest)
		}, ErrNotResponse},
		{"MAPPED-ADDRESS 0.0.0.0", func(t *testing.T, req *stun.Message) []byte {
			return stunReply(t, req, stun.BindingSuccess, &stun.MappedAddress{IP: net.IPv4zero, Port: 1})
		}, ErrBadValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeSTUN(t, func(req *stun.Message) []byte { return tc.reply(t, req) })
			g, _ := STUN(addr)
			_, err := g.ExternalIP(ctxTimeout(t, 5*time.Second))
			var se *STUNError
			if errors.As(tc.want, &se) {
				if !errors.As(err, &se) || se.Code != 500 {
					t.Fatalf("got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// An RFC 3489 server's MAPPED-ADDRESS is used when XOR-MAPPED-ADDRESS is
// missing; replies to other transactions are skipped.
func TestSTUNParse(t *testing.T) {
	req, _ := stun.Build(stun.TransactionID, stun.BindingRequest)
	old := stunReply(t, req, stun.BindingSuccess, &stun.MappedAddress{IP: net.IPv4(192, 0, 2, 1), Port: 1})
	if ip, err := parseSTUNResponse(old, req.TransactionID); err != nil || ip != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("MAPPED-ADDRESS: %v %v", ip, err)
	}
	if _, err := parseSTUNResponse(old, [12]byte{1}); !errors.Is(err, errSkip) {
		t.Fatalf("other transaction: %v", err)
	}
}

func TestSTUNServerSpecs(t *testing.T) {
	for in, want := range map[string]string{
		"10.99.0.2":       "10.99.0.2:3478",
		"10.99.0.2:3479":  "10.99.0.2:3479",
		"stun.example":    "stun.example:3478",
		"[2001:db8::1]:9": "[2001:db8::1]:9",
		"2001:db8::1":     "[2001:db8::1]:3478",
	} {
		if got, err := stunHostPort(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"", "host:0", "host:x", "host:70000", "a b:1"} {
		if _, err := STUN(in); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func FuzzSTUNResponse(f *testing.F) {
	req, _ := stun.Build(stun.TransactionID, stun.BindingRequest)
	f.Add(stunReply(f, req, stun.BindingSuccess, &stun.XORMappedAddress{IP: net.IPv4(1, 2, 3, 4), Port: 5}, stun.Fingerprint))
	f.Add(stunReply(f, req, stun.BindingSuccess, &stun.MappedAddress{IP: net.ParseIP("2001:db8::1"), Port: 5}))
	f.Add(stunReply(f, req, stun.BindingError, stun.CodeServerError))
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, err := parseSTUNResponse(b, req.TransactionID)
		var se *STUNError
		switch {
		case err == nil:
			if !ip.IsValid() || ip.IsUnspecified() {
				t.Fatalf("accepted address %v", ip)
			}
		case errors.Is(err, errSkip), errors.Is(err, ErrMalformedResponse), errors.As(err, &se):
		default:
			t.Fatalf("untyped error %v", err)
		}
	})
}
