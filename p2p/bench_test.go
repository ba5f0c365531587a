package p2p

import (
	"fmt"
	"testing"

	"github.com/trellis-p2p/trellis/rlp"
)

// BenchmarkPeerRead: the remote sends messages; the protocol decodes them.
// Measures the read loop, dispatch and payload handling (RLPx included).
func BenchmarkPeerRead(b *testing.B) {
	for _, size := range []int{100, 10_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			done := make(chan struct{})
			proto := Protocol{Name: "a", Version: 1, Length: 5, Run: func(p *Peer, rw MsgReadWriter) error {
				for i := 0; ; i++ {
					msg, err := rw.ReadMsg()
					if err != nil {
						return err
					}
					var data []byte
					if err := msg.Decode(&data); err != nil {
						return err
					}
					if i == b.N-1 {
						close(done)
					}
				}
			}}
			h := startPeer(b, []Protocol{proto}, testCaps, nil)
			payload := mustEncodeBytes(b, make([]byte, size))
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			go func() {
				for range b.N {
					if _, err := h.remote.BufferMsg(16, payload); err != nil {
						return
					}
				}
				h.remote.Flush()
			}()
			<-done
		})
	}
}

// BenchmarkPeerWrite: the protocol sends messages; the remote reads them.
func BenchmarkPeerWrite(b *testing.B) {
	for _, size := range []int{100, 10_000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			payload := mustEncodeBytes(b, make([]byte, size))
			start := make(chan struct{})
			proto := Protocol{Name: "a", Version: 1, Length: 5, Run: func(p *Peer, rw MsgReadWriter) error {
				<-start
				for range b.N {
					if err := rw.WriteMsg(NewMsg(1, payload)); err != nil {
						return err
					}
				}
				_, err := rw.ReadMsg()
				return err
			}}
			h := startPeer(b, []Protocol{proto}, testCaps, nil)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			close(start)
			for n := 0; n < b.N; {
				code, _, _, err := h.remote.ReadMsg()
				if err != nil {
					b.Fatal(err)
				}
				if code == 17 {
					n++
				}
			}
		})
	}
}

func mustEncodeBytes(b testing.TB, data []byte) []byte {
	enc, err := rlp.EncodeToBytes(data)
	if err != nil {
		b.Fatal(err)
	}
	return enc
}
