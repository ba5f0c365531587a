package discover

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/v5wire"
	"github.com/trellis-p2p/trellis/enode"
)

// TALKREQ goes to the handler of its protocol, both ways; an unknown
// protocol gets an empty TALKRESP.
func TestV5Talk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		a := tn.listenV5(1, "10.0.0.1:30303", Config{})
		b := tn.listenV5(2, "10.0.0.2:30303", Config{})
		echo := func(prefix string) TalkHandler {
			return func(id enode.ID, addr netip.AddrPort, req []byte) []byte {
				return append([]byte(prefix+id.String()[:4]+addr.String()+":"), req...)
			}
		}
		a.RegisterTalkHandler("echo", echo("a"))
		b.RegisterTalkHandler("echo", echo("b"))
		ctx := context.Background()

		resp, err := a.TalkRequest(ctx, b.Self(), "echo", []byte("hi"))
		if want := "b" + a.Self().ID().String()[:4] + "10.0.0.1:30303:hi"; err != nil || string(resp) != want {
			t.Fatalf("a→b: %q, %v; want %q", resp, err, want)
		}
		resp, err = b.TalkRequest(ctx, a.Self(), "echo", []byte("yo"))
		if want := "a" + b.Self().ID().String()[:4] + "10.0.0.2:30303:yo"; err != nil || string(resp) != want {
			t.Fatalf("b→a: %q, %v; want %q", resp, err, want)
		}
		resp, err = a.TalkRequest(ctx, b.Self(), "nope", []byte("x"))
		if err != nil || resp == nil || len(resp) != 0 {
			t.Fatalf("unknown protocol: %q, %v; want empty response", resp, err)
		}
		b.RegisterTalkHandler("echo", nil)
		resp, err = a.TalkRequest(ctx, b.Self(), "echo", []byte("x"))
		if err != nil || len(resp) != 0 {
			t.Fatalf("removed handler: %q, %v; want empty response", resp, err)
		}
	})
}

// At most maxTalkHandlers run at once; requests beyond are dropped, and
// Close waits for the running ones.
func TestV5TalkBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "10.0.0.1:30303", Config{})
		p := tn.v5peer(2, "10.0.0.2:30303")
		release := make(chan struct{})
		var running atomic.Int32
		l.RegisterTalkHandler("slow", func(enode.ID, netip.AddrPort, []byte) []byte {
			running.Add(1)
			<-release
			return []byte("done")
		})
		p.handshake(0, l)
		for i := range maxTalkHandlers + 5 {
			p.send(0, l, &v5wire.TalkRequest{ReqID: []byte{byte(i)}, Protocol: "slow"}, nil)
		}
		synctest.Wait()
		if n := running.Load(); n != maxTalkHandlers {
			t.Fatalf("%d handlers running, want %d", n, maxTalkHandlers)
		}
		close(release)
		got := 0
		for pkt, _ := p.read(l); pkt != nil; pkt, _ = p.read(l) {
			if r, ok := pkt.(*v5wire.TalkResponse); ok && bytes.Equal(r.Message, []byte("done")) {
				got++
			}
		}
		if got != maxTalkHandlers {
			t.Errorf("%d TALKRESP, want %d", got, maxTalkHandlers)
		}
	})
}

// One request at a time goes to a node; the others wait behind it, each
// with its own 700ms once sent. Too many queued fail at once.
func TestV5CallQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "10.0.0.1:30303", Config{})
		p := tn.v5peer(2, "10.0.0.2:30303")
		start := time.Now()
		errs := make(chan error, 3)
		for range 3 {
			go func() { _, err := l.Ping(context.Background(), p.node()); errs <- err }()
		}
		synctest.Wait()
		// Only the first request's packet is out.
		if n := len(p.in); n != 1 {
			t.Fatalf("%d packets sent to the node, want 1", n)
		}
		for i := range 3 {
			if err := <-errs; !errors.Is(err, ErrTimeout) {
				t.Fatalf("Ping %d: %v, want ErrTimeout", i, err)
			}
			if d, want := time.Since(start), time.Duration(i+1)*respTimeoutV5; d != want {
				t.Errorf("Ping %d timed out after %v, want %v", i, d, want)
			}
		}

		// A full queue refuses more at once; cancelled calls leave it.
		ctx, cancel := context.WithCancel(context.Background())
		for range maxQueuedCalls + 1 {
			go func() { _, err := l.Ping(ctx, p.node()); errs <- err }()
		}
		synctest.Wait()
		if _, err := l.Ping(context.Background(), p.node()); !errors.Is(err, ErrTooManyPending) {
			t.Fatalf("Ping with a full queue: %v, want ErrTooManyPending", err)
		}
		cancel()
		for range maxQueuedCalls + 1 {
			if err := <-errs; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Ping: %v", err)
			}
		}
		synctest.Wait()
		if q := len(l.disp.queue); q != 0 {
			t.Errorf("%d nodes with queued calls after cancel", q)
		}
	})
}

// Close fails requests in flight with ErrClosed, and later ones too.
func TestV5Close(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listenV5(1, "10.0.0.1:30303", Config{})
		p := tn.v5peer(2, "10.0.0.2:30303")
		errs := make(chan error, 1)
		go func() { _, err := l.Ping(context.Background(), p.node()); errs <- err }()
		synctest.Wait()
		l.Close()
		l.Close()
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("Ping in flight: %v, want ErrClosed", err)
		}
		if _, err := l.Ping(context.Background(), p.node()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Ping after Close: %v, want ErrClosed", err)
		}
	})
}
