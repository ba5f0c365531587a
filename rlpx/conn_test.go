package rlpx

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/crypto/ecies"
	"github.com/trellis-p2p/trellis/internal/ec"
	"github.com/trellis-p2p/trellis/internal/keccak"
	"golang.org/x/crypto/sha3"
)

func TestHandshakeOverPipe(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ca, cb := handshakePair(t, a, b)
	exchange(t, ca, cb, 7, []byte("hello"))
	exchange(t, cb, ca, 8, []byte("world"))
}

// exchange sends one message from w to r and checks it arrives intact.
func exchange(t *testing.T, w, r *Conn, code uint64, data []byte) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := w.WriteMsg(code, data)
		errc <- err
	}()
	gotCode, got, _, err := r.ReadMsg()
	if err != nil {
		t.Fatalf("ReadMsg: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("WriteMsg: %v", err)
	}
	if gotCode != code || !bytes.Equal(got, data) {
		t.Fatalf("got code %d, %d bytes; want code %d, %d bytes", gotCode, len(got), code, len(data))
	}
}

// TestMessageSizes sends messages of many sizes each way over loopback TCP,
// with snappy off and on, reading concurrently with writing.
func TestMessageSizes(t *testing.T) {
	sizes := []int{0, 1, 15, 16, 17, 1023, 1024, 65535, 65536, 65537, 1 << 20}
	for _, snappy := range []bool{false, true} {
		t.Run(fmt.Sprintf("snappy=%v", snappy), func(t *testing.T) {
			a, b := tcpPair(t)
			ca, cb := handshakePair(t, a, b)
			defer ca.Close()
			defer cb.Close()
			ca.SetSnappy(snappy)
			cb.SetSnappy(snappy)
			rng := rand.New(rand.NewPCG(1, 2))
			var msgs [][]byte
			for i, n := range sizes {
				msgs = append(msgs, testPayload(rng, n, i%2 == 0))
			}
			var wg sync.WaitGroup
			for _, pair := range [][2]*Conn{{ca, cb}, {cb, ca}} {
				w, r := pair[0], pair[1]
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i, m := range msgs {
						if _, err := w.WriteMsg(uint64(i), m); err != nil {
							t.Errorf("WriteMsg %d: %v", i, err)
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i, m := range msgs {
						code, data, wire, err := r.ReadMsg()
						if err != nil {
							t.Errorf("ReadMsg %d: %v", i, err)
							return
						}
						if code != uint64(i) || !bytes.Equal(data, m) {
							t.Errorf("message %d: code %d, %d bytes, want %d bytes", i, code, len(data), len(m))
						}
						if !snappy && wire != len(m) {
							t.Errorf("message %d: wireSize %d, want %d", i, wire, len(m))
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// testPayload returns n bytes, random or (compressible) repetitive.
func testPayload(rng *rand.Rand, n int, compressible bool) []byte {
	p := make([]byte, n)
	for i := range p {
		if compressible {
			p[i] = byte(i / 64)
		} else {
			p[i] = byte(rng.Uint32())
		}
	}
	return p
}

// TestFrameSizeEdge sends a frame of exactly MaxFrameSize bytes (code 0,
// which encodes in one byte, plus 2^24-2 payload bytes), and checks that
// one more byte is refused before anything is written.
func TestFrameSizeEdge(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()
	big := make([]byte, MaxFrameSize-1)
	big[0], big[len(big)-1] = 1, 2
	errc := make(chan error, 1)
	go func() {
		_, err := ca.WriteMsg(0, big)
		errc <- err
	}()
	code, data, _, err := cb.ReadMsg()
	if err != nil || code != 0 || !bytes.Equal(data, big) {
		t.Fatalf("largest frame: code %d, %d bytes, err %v", code, len(data), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	_, err = ca.WriteMsg(0, make([]byte, MaxFrameSize))
	var se *SizeError
	if !errors.Is(err, ErrFrameSize) || !errors.As(err, &se) || se.Limit != MaxFrameSize {
		t.Fatalf("oversized frame: err %v, want SizeError for ErrFrameSize", err)
	}
	if ca.Buffered() != 0 {
		t.Fatal("oversized frame left bytes in the write buffer")
	}
	// The refusal does not break the connection.
	exchange(t, ca, cb, 3, []byte("still fine"))

	// With snappy the limit is on the uncompressed size.
	ca.SetSnappy(true)
	cb.SetSnappy(true)
	_, err = ca.WriteMsg(0, make([]byte, MaxMessageSize+1))
	if !errors.Is(err, ErrMessageSize) {
		t.Fatalf("oversized snappy message: err %v, want ErrMessageSize", err)
	}
	exchange(t, ca, cb, 4, make([]byte, MaxMessageSize))
}

// TestBufferMsgCoalesces checks that buffered messages leave in one write
// and that WriteMsg writes each message at once.
func TestBufferMsgCoalesces(t *testing.T) {
	a, b := tcpPair(t)
	cc := &countingConn{Conn: a}
	ca, cb := handshakePair(t, cc, b)
	defer ca.Close()
	defer cb.Close()
	base := cc.writes.Load()

	const n = 20
	for i := range n {
		if _, err := ca.BufferMsg(uint64(i), make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if got := cc.writes.Load() - base; got != 0 {
		t.Fatalf("BufferMsg wrote %d times before Flush", got)
	}
	if ca.Buffered() != n*frameWireLen(1001) {
		t.Fatalf("Buffered() = %d, want %d", ca.Buffered(), n*frameWireLen(1001))
	}
	if err := ca.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := cc.writes.Load() - base; got != 1 {
		t.Fatalf("Flush of %d messages took %d writes, want 1", n, got)
	}
	for i := range n {
		if code, _, _, err := cb.ReadMsg(); err != nil || code != uint64(i) {
			t.Fatalf("message %d: code %d err %v", i, code, err)
		}
	}

	// Past 64 KiB BufferMsg flushes by itself.
	base = cc.writes.Load()
	for i := range 100 {
		if _, err := ca.BufferMsg(1, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		if i == 99 && ca.Buffered() >= writeBufferSize {
			t.Fatalf("write buffer holds %d bytes", ca.Buffered())
		}
	}
	if cc.writes.Load() == base {
		t.Fatal("BufferMsg never flushed on its own")
	}
	ca.Flush()
	for range 100 {
		if _, _, _, err := cb.ReadMsg(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadDeadline(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()
	cb.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, _, err := cb.ReadMsg(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadMsg after deadline: %v", err)
	}
	// Nothing was consumed, so the connection still works.
	cb.SetReadDeadline(time.Time{})
	exchange(t, ca, cb, 1, []byte("after timeout"))
}

func TestWriteDeadline(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()
	ca.SetWriteDeadline(time.Now().Add(-time.Second))
	_, err := ca.WriteMsg(1, []byte("x"))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WriteMsg after deadline: %v", err)
	}
	// A failed write is final.
	ca.SetWriteDeadline(time.Time{})
	if _, err2 := ca.WriteMsg(1, []byte("x")); !errors.Is(err2, os.ErrDeadlineExceeded) {
		t.Fatalf("second WriteMsg: %v, want the sticky error", err2)
	}
}

func TestHandshakeDeadline(t *testing.T) {
	a, b := tcpPair(t)
	defer a.Close()
	defer b.Close()
	c := NewConn(b, nil)
	c.SetDeadline(time.Now().Add(-time.Second))
	if _, err := c.Handshake(newKey(t)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("handshake after deadline: %v", err)
	}
}

func TestSessionState(t *testing.T) {
	c := NewConn(newFakeConn(nil), nil)
	if _, _, _, err := c.ReadMsg(); err != ErrNoSession {
		t.Errorf("ReadMsg before handshake: %v", err)
	}
	if _, err := c.WriteMsg(0, nil); err != ErrNoSession {
		t.Errorf("WriteMsg before handshake: %v", err)
	}
	a, _ := secretsPair()
	if err := c.InitWithSecrets(a); err != nil {
		t.Fatal(err)
	}
	if err := c.InitWithSecrets(a); err != ErrSessionExists {
		t.Errorf("second InitWithSecrets: %v", err)
	}
	if _, err := c.Handshake(newKey(t)); err != ErrSessionExists {
		t.Errorf("Handshake after InitWithSecrets: %v", err)
	}
	if err := NewConn(newFakeConn(nil), nil).InitWithSecrets(Secrets{AES: make([]byte, 16), MAC: make([]byte, 32)}); err == nil {
		t.Error("InitWithSecrets accepted a 16-byte AES secret")
	}
}

// TestInitWithSecretsForeignKeccak seeds one end's MAC states with other
// Keccak-256 implementations: x/crypto's (imported through its serialised
// state) and the crypto package's (imported or used through hash.Hash).
func TestInitWithSecretsForeignKeccak(t *testing.T) {
	t.Run("x/crypto", func(t *testing.T) { testForeignKeccak(t, sha3.NewLegacyKeccak256) })
	t.Run("crypto", func(t *testing.T) {
		testForeignKeccak(t, func() hash.Hash { return crypto.NewKeccak256() })
	})
}

func testForeignKeccak(t *testing.T, newHash func() hash.Hash) {
	mk := func(seed string) (*keccak.State, hash.Hash) {
		ours, theirs := keccak.New(), newHash()
		ours.Write([]byte(seed))
		theirs.Write([]byte(seed))
		return ours, theirs
	}
	abOurs, abTheirs := mk("ab")
	baOurs, baTheirs := mk("ba")
	key := bytes.Repeat([]byte{7}, 32)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ca, cb := NewConn(a, nil), NewConn(b, nil)
	if err := ca.InitWithSecrets(Secrets{AES: key, MAC: key, EgressMAC: abTheirs, IngressMAC: baTheirs}); err != nil {
		t.Fatal(err)
	}
	if err := cb.InitWithSecrets(Secrets{AES: key, MAC: key, EgressMAC: baOurs, IngressMAC: abOurs}); err != nil {
		t.Fatal(err)
	}
	exchange(t, ca, cb, 1, []byte("x/crypto state"))
	exchange(t, cb, ca, 2, []byte("our state"))
}

// TestPreEIP8Initiator plays an old (pre-EIP-8) initiator against our
// recipient: the auth is the fixed-size format without size prefix, and the
// ack must come back in the old format too.
func TestPreEIP8Initiator(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	keyA, keyB := newKey(t), newKey(t)
	recipient := NewConn(b, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := recipient.Handshake(keyB)
		errc <- err
	}()

	remoteB, _ := ec.FromPublicKey(keyB.PubKey())
	h := handshake{initiator: true, rand: cryptoRand{}, local: keyA, remote: &remoteB}
	h.eph = newKey(t)
	h.initNonce = [32]byte{1, 2, 3}
	static := crypto.ECDH(keyA, keyB.PubKey())
	var digest [32]byte
	for i := range digest {
		digest[i] = static[i] ^ h.initNonce[i]
	}
	sig, _ := crypto.Sign(digest[:], h.eph)
	ephPub := crypto.MarshalPubkey(h.eph.PubKey())[1:]
	plain := append(append(append(append(sig, keccakSum(ephPub)...), crypto.MarshalPubkey(keyA.PubKey())[1:]...), h.initNonce[:]...), 0)
	auth, err := ecies.Encrypt(cryptoRand{}, keyB.PubKey(), plain, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(auth) != 307 {
		t.Fatalf("legacy auth is %d bytes", len(auth))
	}
	if _, err := a.Write(auth); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 210)
	if _, err := readFull(a, ack); err != nil {
		t.Fatalf("reading legacy ack: %v", err)
	}
	if err := h.handleAck(ack, false); err != nil {
		t.Fatalf("legacy ack: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("recipient: %v", err)
	}
	initiator := NewConn(a, nil)
	if err := initiator.InitWithSecrets(h.secrets(auth, ack)); err != nil {
		t.Fatal(err)
	}
	exchange(t, initiator, recipient, 5, []byte("old school"))
	exchange(t, recipient, initiator, 6, []byte("still works"))
}

// TestConcurrentFullDuplex has both ends read and write at once, many
// small messages, buffered, under the race detector.
func TestConcurrentFullDuplex(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()
	const n = 2000
	var wg sync.WaitGroup
	for _, c := range []*Conn{ca, cb} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range n {
				if _, err := c.BufferMsg(uint64(i), make([]byte, i%300)); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					if err := c.Flush(); err != nil {
						t.Error(err)
						return
					}
				}
			}
			if err := c.Flush(); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			for i := range n {
				code, data, _, err := c.ReadMsg()
				if err != nil || code != uint64(i) || len(data) != i%300 {
					t.Errorf("message %d: code %d len %d err %v", i, code, len(data), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestReadBufferShrinks checks that a large message does not pin its
// buffer: after a small message follows, the buffers are back to normal.
func TestReadBufferShrinks(t *testing.T) {
	a, b := tcpPair(t)
	ca, cb := handshakePair(t, a, b)
	defer ca.Close()
	defer cb.Close()
	exchange(t, ca, cb, 1, make([]byte, 4<<20))
	if len(cb.rd.buf.buf) <= maxRetainedBuffer {
		t.Fatalf("receive buffer is %d bytes after a 4 MiB message", len(cb.rd.buf.buf))
	}
	exchange(t, ca, cb, 1, []byte("small"))
	if len(cb.rd.buf.buf) > maxRetainedBuffer {
		t.Fatalf("receive buffer still %d bytes", len(cb.rd.buf.buf))
	}
	if cap(ca.wr.buf) > maxRetainedBuffer {
		t.Fatalf("write buffer grew to %d bytes for a streamed frame", cap(ca.wr.buf))
	}
}

type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rand.Uint32())
	}
	return len(p), nil
}

func keccakSum(p []byte) []byte {
	s := keccak.Sum256(p)
	return s[:]
}

func readFull(c net.Conn, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := c.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
