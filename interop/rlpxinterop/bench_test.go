package rlpxinterop

import (
	"crypto/aes"
	"crypto/cipher"
	stdsha3 "crypto/sha3"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	gkeccak "github.com/ethereum/go-ethereum/crypto/keccak"
	grlpx "github.com/ethereum/go-ethereum/p2p/rlpx"
	"github.com/golang/snappy"
	"golang.org/x/crypto/sha3"

	tcrypto "github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/rlpx"
)

// Benchmarks run go-ethereum and Trellis in the same process and run, one
// sub-benchmark per implementation (impl=...), so that
//
//	go test -run '^$' -bench . -count 10 ./rlpxinterop > bench.txt
//	benchstat -col /impl bench.txt
//
// puts them side by side.

// BenchmarkHandshake measures a full handshake, both ends in this process,
// over net.Pipe so that only the handshake's own work is timed.
func BenchmarkHandshake(b *testing.B) {
	a, r := newNode(b), newNode(b)
	b.Run("impl=geth", func(b *testing.B) {
		cpu := startCPU()
		defer cpu.report(b)
		for b.Loop() {
			p1, p2 := net.Pipe()
			ci, cr := grlpx.NewConn(p1, r.gpub()), grlpx.NewConn(p2, nil)
			errc := make(chan error, 1)
			go func() {
				_, err := cr.Handshake(r.g)
				errc <- err
			}()
			if _, err := ci.Handshake(a.g); err != nil {
				b.Fatal(err)
			}
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			p1.Close()
			p2.Close()
		}
	})
	b.Run("impl=trellis", func(b *testing.B) {
		cpu := startCPU()
		defer cpu.report(b)
		for b.Loop() {
			p1, p2 := net.Pipe()
			ci, cr := rlpx.NewConn(p1, r.tpub()), rlpx.NewConn(p2, nil)
			errc := make(chan error, 1)
			go func() {
				_, err := cr.Handshake(r.t)
				errc <- err
			}()
			if _, err := ci.Handshake(a.t); err != nil {
				b.Fatal(err)
			}
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
			p1.Close()
			p2.Close()
		}
	})
}

// streamPair is a connected sender and receiver of one implementation.
type streamPair struct {
	send func(code uint64, data []byte) error
	end  func() error // flush whatever the sender buffered
	recv func() (int, error)
	stop func()
}

func gethStream(b *testing.B, snappy bool) streamPair {
	c1, c2 := tcpPair(b)
	a, r := newNode(b), newNode(b)
	w, rd := grlpx.NewConn(c1, r.gpub()), grlpx.NewConn(c2, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := rd.Handshake(r.g)
		errc <- err
	}()
	if _, err := w.Handshake(a.g); err != nil {
		b.Fatal(err)
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	w.SetSnappy(snappy)
	rd.SetSnappy(snappy)
	return streamPair{
		send: func(code uint64, data []byte) error { _, err := w.Write(code, data); return err },
		end:  func() error { return nil },
		recv: func() (int, error) {
			_, data, _, err := rd.Read()
			return len(data), err
		},
		stop: func() { w.Close(); rd.Close() },
	}
}

// trellisStream connects two Trellis Conns. buffered selects BufferMsg
// (frames coalesce into 64 KiB writes) over WriteMsg (one write each).
func trellisStream(b *testing.B, snappy, buffered bool) streamPair {
	c1, c2 := tcpPair(b)
	a, r := newNode(b), newNode(b)
	w, rd := rlpx.NewConn(c1, r.tpub()), rlpx.NewConn(c2, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := rd.Handshake(r.t)
		errc <- err
	}()
	if _, err := w.Handshake(a.t); err != nil {
		b.Fatal(err)
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	w.SetSnappy(snappy)
	rd.SetSnappy(snappy)
	send := func(code uint64, data []byte) error { _, err := w.WriteMsg(code, data); return err }
	if buffered {
		send = func(code uint64, data []byte) error { _, err := w.BufferMsg(code, data); return err }
	}
	return streamPair{
		send: send,
		end:  w.Flush,
		recv: func() (int, error) {
			_, data, _, err := rd.ReadMsg()
			return len(data), err
		},
		stop: func() { w.Close(); rd.Close() },
	}
}

// tcpStream sends the messages' bytes over plain loopback TCP, with no
// framing or crypto: the kernel's share of a stream (the write and read
// syscalls), to set beside BenchmarkBound's crypto share.
func tcpStream(b *testing.B, size int) streamPair {
	c1, c2 := tcpPair(b)
	buf := make([]byte, size)
	return streamPair{
		send: func(_ uint64, data []byte) error { _, err := c1.Write(data); return err },
		end:  func() error { return nil },
		recv: func() (int, error) { return io.ReadFull(c2, buf) },
		stop: func() { c1.Close(); c2.Close() },
	}
}

// runStream sends b.N messages from one goroutine and receives them in
// another, over loopback TCP. Besides wall time it reports the CPU time of
// the sending and the receiving thread per message (wcpu, rcpu): on a
// machine shared with other work these predict the quiet-machine rate,
// which the busier side limits, far better than wall time does.
func runStream(b *testing.B, p streamPair, msg []byte) {
	defer p.stop()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	type result struct {
		cpu time.Duration
		err error
	}
	done := make(chan result, 1)
	b.ResetTimer()
	cpu := startCPU()
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := threadCPU()
		var err error
		for i := 0; i < b.N && err == nil; i++ {
			err = p.send(1, msg)
		}
		if err == nil {
			err = p.end()
		}
		done <- result{threadCPU() - start, err}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rstart := threadCPU()
	for i := 0; i < b.N; i++ {
		n, err := p.recv()
		if err != nil {
			b.Fatal(err)
		}
		if n != len(msg) {
			b.Fatalf("received %d bytes, want %d", n, len(msg))
		}
	}
	rcpu := threadCPU() - rstart
	b.StopTimer()
	cpu.report(b)
	w := <-done
	if w.err != nil {
		b.Fatal(w.err)
	}
	b.ReportMetric(float64(w.cpu)/float64(b.N), "wcpu-ns/op")
	b.ReportMetric(float64(rcpu)/float64(b.N), "rcpu-ns/op")
}

// streamPayload returns n bytes: random (incompressible), or "half":
// random runs followed by repeats of them, which snappy shrinks to about
// half (TestPayloadRatio checks).
func streamPayload(n int, kind string) []byte {
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	if kind == "half" {
		for i := range p {
			if i%halfPeriod >= halfRandom {
				p[i] = p[i-halfRandom]
			}
		}
	}
	return p
}

const halfPeriod, halfRandom = 40, 16

func BenchmarkStream(b *testing.B) {
	type config struct {
		size   int
		snappy bool
		data   string
	}
	configs := []config{
		{64 << 10, false, "random"},
		{1 << 10, false, "random"},
		{64 << 10, true, "random"},
		{64 << 10, true, "half"},
		{1 << 10, true, "random"},
		{1 << 10, true, "half"},
	}
	for _, cfg := range configs {
		msg := streamPayload(cfg.size, cfg.data)
		name := fmt.Sprintf("size=%dK/snappy=%v/data=%s", cfg.size>>10, cfg.snappy, cfg.data)
		b.Run(name+"/impl=geth", func(b *testing.B) { runStream(b, gethStream(b, cfg.snappy), msg) })
		b.Run(name+"/impl=trellis", func(b *testing.B) { runStream(b, trellisStream(b, cfg.snappy, true), msg) })
		b.Run(name+"/impl=trellis-writemsg", func(b *testing.B) { runStream(b, trellisStream(b, cfg.snappy, false), msg) })
		if !cfg.snappy {
			b.Run(name+"/impl=tcp", func(b *testing.B) { runStream(b, tcpStream(b, cfg.size), msg) })
		}
	}
}

// BenchmarkBound is the cost floor of one direction of the stream: AES-256-
// CTR and a Keccak-256 absorb over the same bytes. A sender (or receiver)
// cannot be faster than this on one core. impl= names the Keccak: trellis
// is the module's Keccak (crypto.NewKeccak256, the sponge the rlpx MAC
// absorbs with), stdsha3 crypto/sha3's assembly sponge, geth
// go-ethereum's crypto/keccak, xcrypto x/crypto's legacy Keccak.
func BenchmarkBound(b *testing.B) {
	sponges := []struct {
		name string
		new  func() hash.Hash
	}{
		{"trellis", func() hash.Hash { return tcrypto.NewKeccak256() }},
		{"stdsha3", func() hash.Hash { return stdsha3.New256() }},
		{"geth", gkeccak.NewLegacyKeccak256},
		{"xcrypto", sha3.NewLegacyKeccak256},
	}
	for _, size := range []int{64 << 10, 1 << 10} {
		for _, sp := range sponges {
			b.Run(fmt.Sprintf("size=%dK/impl=%s", size>>10, sp.name), func(b *testing.B) {
				buf := make([]byte, size)
				block, _ := aes.NewCipher(make([]byte, 32))
				stream := cipher.NewCTR(block, make([]byte, 16))
				h := sp.new()
				b.SetBytes(int64(size))
				cpu := startCPU()
				for b.Loop() {
					stream.XORKeyStream(buf, buf)
					h.Write(buf)
				}
				cpu.report(b)
			})
		}
	}
}

func TestPayloadRatio(t *testing.T) {
	for _, size := range []int{1 << 10, 64 << 10} {
		p := streamPayload(size, "half")
		ratio := float64(len(snappy.Encode(nil, p))) / float64(size)
		t.Logf("size %d: snappy ratio %.2f", size, ratio)
		if ratio < 0.4 || ratio > 0.6 {
			t.Errorf("half-compressible payload of %d bytes compresses to %.2f", size, ratio)
		}
		if r := float64(len(snappy.Encode(nil, streamPayload(size, "random")))) / float64(size); r < 1 {
			t.Errorf("random payload compresses to %.2f", r)
		}
	}
}
