package p2p

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// The silent-connection flood over real loopback sockets: 1,000 connections
// that send nothing do not keep a real peer out, and they are all closed once
// the 5 s handshake deadline has passed.
func TestServerSilentSockets(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 6 s")
	}
	srv := &Server{Config: Config{
		PrivateKey: newKey(t),
		MaxPeers:   10,
		ListenAddr: "127.0.0.1:0",
		Logger:     testLogger,
		Protocols:  []Protocol{echoProto("a", 5)},
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	start := time.Now()
	var silent []net.Conn
	for range 1000 {
		fd, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer fd.Close()
		silent = append(silent, fd)
	}

	ch := make(chan *PeerEvent, 10)
	sub := srv.SubscribeEvents(ch)
	defer sub.Unsubscribe()
	client := &Server{Config: Config{
		PrivateKey:  newKey(t),
		MaxPeers:    10,
		Logger:      testLogger,
		Protocols:   []Protocol{echoProto("a", 5)},
		StaticNodes: []*enode.Node{srv.Self()},
	}}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer client.Stop()
	select {
	case ev := <-ch:
		if ev.Type != PeerEventTypeAdd {
			t.Fatalf("event %v", ev.Type)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("real peer not connected within 3 s")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("real peer connected after %v", took)
	}

	// Every silent connection is closed by the server by 5 s after its
	// accept (plus scheduling slack).
	for i, fd := range silent {
		fd.SetReadDeadline(start.Add(handshakeTimeout + 2*time.Second))
		if _, err := fd.Read(make([]byte, 1)); err != io.EOF && !isConnReset(err) {
			t.Fatalf("silent connection %d: %v", i, err)
		}
	}
	srv.setup.Lock()
	left := len(srv.setup.conns)
	srv.setup.Unlock()
	if left != 0 {
		t.Fatalf("%d connections still in setup", left)
	}
	if srv.PeerCount() != 1 {
		t.Fatalf("%d peers", srv.PeerCount())
	}
}

func isConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
