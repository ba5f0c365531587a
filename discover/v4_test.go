package discover

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trellis-p2p/trellis/discover/v4wire"
	"github.com/trellis-p2p/trellis/enode"
)

// A Ping from a new node is answered with a Pong carrying the Ping's hash
// and the address the Ping came from, followed by a Ping of our own; once
// the node answers that, it is in the table and counts as live.
func TestPingPongAndPingBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		// No revalidation pings during the test.
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait() // first refresh of the empty table

		hash := p.ping(l)
		pkt, _ := p.read()
		pong, ok := pkt.(*v4wire.Pong)
		if !ok {
			t.Fatalf("got %v, want PONG first", pkt)
		}
		if !bytes.Equal(pong.ReplyTok, hash[:]) || pong.To.UDPAddr() != p.addr() {
			t.Fatalf("pong %+v: wrong token or endpoint", pong)
		}
		if v4wire.Expired(pong.Expiration, time.Now().Add(19*time.Second)) {
			t.Fatal("pong expires in less than 20s")
		}
		if pong.ENRSeq != l.Self().Seq() {
			t.Fatalf("pong enr-seq %d, want %d", pong.ENRSeq, l.Self().Seq())
		}
		pkt, h := p.read()
		if _, ok := pkt.(*v4wire.Ping); !ok {
			t.Fatalf("got %v, want PING back", pkt)
		}
		if n := l.tab.node(p.id); n != nil {
			t.Fatal("node in table before it answered")
		}
		p.send(l, &v4wire.Pong{To: v4wire.NewEndpoint(listenerAddr(l), 0), ReplyTok: h[:], Expiration: future()})
		synctest.Wait()
		if n := l.tab.node(p.id); n == nil || n.UDP() != int(p.addr().Port()) {
			t.Fatalf("node not in table after pong: %v", n)
		}
		if b := liveEntry(l, p.id); b == nil || !b.Live {
			t.Fatalf("entry %+v, want live", b)
		}
		// Now bonded: the next ping gets a pong only.
		p.ping(l)
		if pkt, _ := p.read(); pkt.Kind() != v4wire.PongPacket {
			t.Fatalf("got %v, want PONG", pkt)
		}
		p.expectNone("second ping")
	})
}

func liveEntry(l *UDPv4, id enode.ID) *BucketNode {
	for _, b := range l.TableBuckets() {
		for i := range b {
			if b[i].Node.ID() == id {
				return &b[i]
			}
		}
	}
	return nil
}

// Two listeners find each other through a bootnode.
func TestBootstrap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		boot := tn.listen(1, "10.0.0.1:30303", Config{})
		synctest.Wait()
		cfg := Config{Bootnodes: []*enode.Node{boot.Self()}}
		a := tn.listen(2, "10.0.0.2:30303", cfg)
		time.Sleep(5 * time.Second)
		b := tn.listen(3, "10.0.0.3:30303", cfg)
		time.Sleep(5 * time.Second)
		synctest.Wait()

		found := b.LookupPubkey(context.Background(), cachedKey(2).PubKey())
		if len(found) == 0 || found[0].ID() != a.Self().ID() {
			t.Fatalf("lookup for a found %v", found)
		}
		if a.tab.node(b.Self().ID()) == nil {
			t.Fatal("a does not know b")
		}
	})
}

func TestPingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{})
		silent := tn.peer(2, "10.0.0.2:30303")
		start := time.Now()
		_, err := l.Ping(context.Background(), silent.node())
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != respTimeout {
			t.Fatalf("timed out after %v, want %v", d, respTimeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := l.Ping(ctx, silent.node()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want DeadlineExceeded", err)
		}
	})
}

func TestCloseFailsRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{})
		silent := tn.peer(2, "10.0.0.2:30303")
		errc := make(chan error)
		go func() {
			_, err := l.Ping(context.Background(), silent.node())
			errc <- err
		}()
		synctest.Wait()
		l.Close()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("err %v, want ErrClosed", err)
		}
		l.Close() // idempotent
		if _, err := l.Ping(context.Background(), silent.node()); !errors.Is(err, ErrClosed) {
			t.Fatalf("after close: err %v", err)
		}
	})
}

// offsetClock is the system clock shifted by a fixed amount, a node whose
// clock is wrong.
type offsetClock struct{ d time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().Add(c.d) }
func (c offsetClock) NewTimer(d time.Duration) Timer {
	return SystemClock{}.NewTimer(d)
}

// The listener takes time from Config.Clock: with a clock a minute fast,
// packets that expire in 20 seconds are expired on arrival (discv4.md
// "Known Issues"), and its own packets expire a minute later than usual.
func TestInjectedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{Clock: offsetClock{time.Minute}, PingInterval: time.Hour})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		p.ping(l)
		p.expectNone("ping expiring before the listener's clock")
		p.send(l, &v4wire.Ping{Version: 4, To: v4wire.NewEndpoint(listenerAddr(l), 0), Expiration: uint64(time.Now().Add(2 * time.Minute).Unix())})
		pkt, _ := p.read()
		pong, ok := pkt.(*v4wire.Pong)
		if !ok {
			t.Fatalf("got %v, want PONG", pkt)
		}
		if want := uint64(time.Now().Add(time.Minute + expiration).Unix()); pong.Expiration != want {
			t.Fatalf("pong expires at %d, want %d", pong.Expiration, want)
		}
	})
}

// ensureBond pings a node before querying it, unless the node pinged us or
// answered a query of ours lately.
func TestEnsureBond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tn := newTestNet(t)
		l := tn.listen(1, "10.0.0.1:30303", Config{PingInterval: time.Hour})
		p := tn.peer(2, "10.0.0.2:30303")
		synctest.Wait()
		query := func() chan error {
			errc := make(chan error, 1)
			go func() {
				_, err := l.findnode(context.Background(), p.node(), p.pubkey())
				errc <- err
			}()
			return errc
		}

		// First query: a ping comes first. The peer answers it but does
		// not ping back (it holds our pong, say); the query follows after
		// the wait for its ping.
		errc := query()
		pkt, hash := p.read()
		if _, ok := pkt.(*v4wire.Ping); !ok {
			t.Fatalf("got %v, want PING before the first query", pkt)
		}
		p.send(l, &v4wire.Pong{To: v4wire.NewEndpoint(listenerAddr(l), 0), ReplyTok: hash[:], Expiration: future()})
		start := time.Now()
		if pkt, _ := p.read(); pkt == nil || pkt.Kind() != v4wire.FindNodePacket {
			t.Fatalf("got %v, want FINDNODE", pkt)
		}
		if d := time.Since(start); d != respTimeout {
			t.Errorf("FINDNODE came %v after the pong, want %v (waiting for a ping)", d, respTimeout)
		}
		p.send(l, &v4wire.Neighbors{Expiration: future()})
		if err := <-errc; err != nil {
			t.Fatal(err)
		}

		// It answered: the next query goes out at once.
		errc = query()
		if pkt, _ := p.read(); pkt == nil || pkt.Kind() != v4wire.FindNodePacket {
			t.Fatalf("got %v, want FINDNODE without ping", pkt)
		}
		p.send(l, &v4wire.Neighbors{Expiration: future()})
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
}

func TestV4TargetAt(t *testing.T) {
	self := tableSelf
	for _, d := range []int{256, 253, 248} {
		target, ok := v4TargetAt(self, d)
		if !ok || enode.LogDist(self, target.ID()) != d {
			t.Errorf("distance %d: got target at %d (ok=%v)", d, enode.LogDist(self, target.ID()), ok)
		}
	}
	if _, ok := v4TargetAt(self, 100); ok {
		t.Error("found a target at distance 100 within the try limit; it should be far too rare")
	}
}
