package rlpxinterop

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	grlpx "github.com/ethereum/go-ethereum/p2p/rlpx"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlpx"
)

// connect runs a handshake between Trellis and go-ethereum over loopback
// TCP, with Trellis as initiator or as recipient, and checks that each side
// learned the other's key.
func connect(t *testing.T, trellisInitiates bool) (tc, gc msgConn) {
	t.Helper()
	a, b := newNode(t), newNode(t)
	ca, cb := tcpPair(t)
	var (
		tr *rlpx.Conn
		ge *grlpx.Conn
	)
	if trellisInitiates {
		tr, ge = rlpx.NewConn(ca, b.tpub()), grlpx.NewConn(cb, nil)
	} else {
		ge, tr = grlpx.NewConn(ca, b.gpub()), rlpx.NewConn(cb, nil)
	}
	// a is the initiator's key, b the recipient's.
	tKey, gKey, tWant, gWant := a.t, b.g, b.tpub(), a.gpub()
	if !trellisInitiates {
		tKey, gKey, tWant, gWant = b.t, a.g, a.tpub(), b.gpub()
	}
	errc := make(chan error, 1)
	go func() {
		remote, err := ge.Handshake(gKey)
		if err == nil && !remote.Equal(gWant) {
			err = errors.New("go-ethereum learned the wrong remote key")
		}
		errc <- err
	}()
	remote, err := tr.Handshake(tKey)
	if err != nil {
		t.Fatalf("Trellis handshake: %v", err)
	}
	if !remote.IsEqual(tWant) {
		t.Fatal("Trellis learned the wrong remote key")
	}
	if err := <-errc; err != nil {
		t.Fatalf("go-ethereum handshake: %v", err)
	}
	t.Cleanup(func() { tr.Close(); ge.Close() })
	return trellisConn{tr}, gethConn{ge}
}

// interopSizes are the payload sizes exchanged; the last is the frame
// limit edge: code 0 (one byte) plus 2^24-2 bytes is a frame of 2^24-1
// bytes.
var interopSizes = []int{0, 1, 100, 1024, 65535, 65536, 1 << 20, rlpx.MaxFrameSize - 1}

func payload(rng *rand.Rand, n int, compressible bool) []byte {
	p := make([]byte, n)
	for i := range p {
		if compressible && i%2 == 0 {
			p[i] = byte(i >> 7)
		} else {
			p[i] = byte(rng.Uint32())
		}
	}
	return p
}

// compressible returns n bytes that snappy shrinks several times over.
func compressible(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i/16) ^ byte(i>>12)
	}
	return p
}

// sendAll writes msgs from w while r reads them, checking every one.
func sendAll(t *testing.T, w, r msgConn, msgs [][]byte, codes []uint64) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i, m := range msgs {
			if err := w.write(codes[i], m); err != nil {
				t.Errorf("write %d (%d bytes): %v", i, len(m), err)
				w.close() // unblock the reader
				return
			}
		}
	}()
	for i, m := range msgs {
		code, data, err := r.read()
		if err != nil {
			t.Errorf("read %d: %v", i, err)
			break
		}
		if code != codes[i] || !bytes.Equal(data, m) {
			t.Errorf("message %d: code %d, %d bytes; want code %d, %d bytes", i, code, len(data), codes[i], len(m))
		}
	}
	wg.Wait()
}

func TestInterop(t *testing.T) {
	for _, trellisInitiates := range []bool{true, false} {
		for _, snappy := range []bool{false, true} {
			name := fmt.Sprintf("trellisInitiator=%v/snappy=%v", trellisInitiates, snappy)
			t.Run(name, func(t *testing.T) {
				tc, gc := connect(t, trellisInitiates)
				tc.setSnappy(snappy)
				gc.setSnappy(snappy)
				rng := rand.New(rand.NewPCG(7, uint64(len(name))))
				var msgs [][]byte
				var codes []uint64
				for i, n := range interopSizes {
					msgs = append(msgs, payload(rng, n, i%2 == 1))
					// Codes of every RLP integer length, 0 included.
					codes = append(codes, []uint64{0, 1, 0x7f, 0x80, 0x1234, 1 << 40, 16, 1<<64 - 1}[i%8])
				}
				// The frame limit edge needs a one-byte code. With snappy
				// the edge is on the decoded size instead: 2^24-1 bytes
				// that compress (random data would not fit a frame).
				codes[len(codes)-1] = 0
				if snappy {
					msgs[len(msgs)-1] = compressible(rlpx.MaxMessageSize)
				}
				t.Run("trellis->geth", func(t *testing.T) { sendAll(t, tc, gc, msgs, codes) })
				t.Run("geth->trellis", func(t *testing.T) { sendAll(t, gc, tc, msgs, codes) })
			})
		}
	}
}

// TestInteropFullDuplex interleaves many small buffered messages in both
// directions at once.
func TestInteropFullDuplex(t *testing.T) {
	tcI, gcI := connect(t, true)
	tr, ge := tcI.(trellisConn).c, gcI.(gethConn).c
	tr.SetSnappy(true)
	ge.SetSnappy(true)
	const n = 3000
	var wg sync.WaitGroup
	wg.Add(4)
	go func() {
		defer wg.Done()
		for i := range n {
			if _, err := tr.BufferMsg(uint64(i), bytes.Repeat([]byte{byte(i)}, i%500)); err != nil {
				t.Error(err)
				return
			}
			if i%10 == 9 {
				tr.Flush()
			}
		}
		if err := tr.Flush(); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			if _, err := ge.Write(uint64(i), bytes.Repeat([]byte{byte(i)}, i%700)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			code, data, _, err := ge.Read()
			if err != nil || code != uint64(i) || !bytes.Equal(data, bytes.Repeat([]byte{byte(i)}, i%500)) {
				t.Errorf("geth read %d: code %d len %d err %v", i, code, len(data), err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			code, data, _, err := tr.ReadMsg()
			if err != nil || code != uint64(i) || !bytes.Equal(data, bytes.Repeat([]byte{byte(i)}, i%700)) {
				t.Errorf("trellis read %d: code %d len %d err %v", i, code, len(data), err)
				return
			}
		}
	}()
	wg.Wait()
}

// TestInteropSnappyLimit: both refuse a payload whose decoded size is over
// 2^24-1 on the sending side, and accept exactly 2^24-1.
func TestInteropSnappyLimit(t *testing.T) {
	tc, gc := connect(t, false)
	tc.setSnappy(true)
	gc.setSnappy(true)
	tr := tc.(trellisConn).c
	if _, err := tr.WriteMsg(1, make([]byte, 1<<24)); !errors.Is(err, rlpx.ErrMessageSize) {
		t.Fatalf("Trellis sent a 16 MiB message: %v", err)
	}
	if _, err := gc.(gethConn).c.Write(1, make([]byte, 1<<24)); err == nil {
		t.Fatal("go-ethereum sent a 16 MiB message")
	}
	edge := compressible(rlpx.MaxMessageSize)
	sendAll(t, tc, gc, [][]byte{edge}, []uint64{3})
	sendAll(t, gc, tc, [][]byte{edge}, []uint64{3})
}

// TestInteropKeys checks the key conversion the tests rely on.
func TestInteropKeys(t *testing.T) {
	n := newNode(t)
	if !bytes.Equal(crypto.MarshalPubkey(n.tpub()), gcrypto.FromECDSAPub(n.gpub())) {
		t.Fatal("key conversion mismatch")
	}
}
