package nat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// retransmit is the schedule of a UDP request: the first wait, doubled after
// every unanswered send up to max, for at most tries sends (0: until the
// context ends).
type retransmit struct {
	initial, max time.Duration
	tries        int
	jitter       bool // RFC 6887 section 8.1.1: each wait times 0.9..1.1
}

// errSkip tells exchange that a datagram is not the answer (another nonce,
// another transaction): keep waiting.
var errSkip = errors.New("not our response")

// exchange sends a request to server over a fresh UDP socket and waits for
// the answer, resending on schedule. build makes the request given the
// socket's local address (PCP puts it in the request). handle sees each
// datagram from server; a nil error takes it as the answer, errSkip drops
// it, any other error ends the exchange.
//
// The socket is connected, so the kernel already drops datagrams from other
// addresses; the source check below is kept for platforms where it does
// not. Responses longer than maxResp are cut to maxResp+1 bytes so that
// handle sees them as too long.
func exchange(ctx context.Context, proto string, server netip.AddrPort, maxResp int, sched retransmit,
	build func(local netip.AddrPort) []byte, handle func(b []byte) error) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", server.String())
	if err != nil {
		return fmt.Errorf("%w: %s %v: %w", ErrNoResponse, proto, server, err)
	}
	conn := c.(*net.UDPConn)
	defer conn.Close()
	// Closing unblocks the read as soon as the context ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	req := build(local)
	buf := make([]byte, maxResp+1)
	wait := sched.initial
	for try := 0; sched.tries == 0 || try < sched.tries; try++ {
		if _, err := conn.Write(req); err != nil {
			return exchangeErr(ctx, proto, server, err)
		}
		w := wait
		if sched.jitter {
			w = time.Duration(float64(w) * (0.9 + 0.2*rand.Float64()))
		}
		if err := conn.SetReadDeadline(time.Now().Add(w)); err != nil {
			return exchangeErr(ctx, proto, server, err)
		}
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
					break // resend
				}
				return exchangeErr(ctx, proto, server, err)
			}
			if from.Addr().Unmap() != server.Addr().Unmap() || from.Port() != server.Port() {
				continue
			}
			switch err := handle(buf[:n]); {
			case err == nil:
				return nil
			case !errors.Is(err, errSkip):
				return err
			}
		}
		wait = min(2*wait, sched.max)
	}
	return fmt.Errorf("%w: %s %v: %d requests unanswered", ErrNoResponse, proto, server, sched.tries)
}

func exchangeErr(ctx context.Context, proto string, server netip.AddrPort, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %s %v: %w", ErrNoResponse, proto, server, ctx.Err())
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w: %s %v: nothing listens there (%w)", ErrNoResponse, proto, server, err)
	}
	return fmt.Errorf("%w: %s %v: %w", ErrNoResponse, proto, server, err)
}
