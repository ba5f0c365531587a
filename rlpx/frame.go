package rlpx

import (
	"crypto/cipher"
	"crypto/subtle"

	"github.com/trellis-p2p/trellis/rlp"
)

// Frame codec (rlpx.md "Framing"). No I/O here: the writer appends wire
// bytes to a slice and the reader authenticates and decrypts bytes already
// received.
//
//	frame = header-ciphertext || header-mac || frame-ciphertext || frame-mac
//	header = frame-size (3 bytes, big-endian) || header-data || header-padding
//	frame-data = msg-id (RLP integer) || msg-data, zero-padded to 16 bytes
const (
	headerLen = 16
	macLen    = 16
	// frameOverhead is the wire size of a frame beyond its padded data.
	frameOverhead = headerLen + macLen + macLen
)

// headerData is header-data = [capability-id, context-id], both zero. The
// fields are unused; receivers ignore them. This is what go-ethereum sends.
var headerData = [3]byte{0xc2, 0x80, 0x80}

var zeroPadding [16]byte

// paddedLen rounds a frame-size up to the AES block size.
func paddedLen(fsize int) int { return (fsize + 15) &^ 15 }

// frameWireLen is the number of bytes a frame of fsize bytes takes on the
// wire.
func frameWireLen(fsize int) int { return frameOverhead + paddedLen(fsize) }

// frameWriter seals outgoing frames: AES-256-CTR over header and body,
// egress MAC over the ciphertext.
type frameWriter struct {
	enc cipher.Stream
	mac macState
	// Scratch space: locals passed to cipher.Stream (an interface) would
	// be moved to the heap on every frame. hdr holds the header, then the
	// RLP-encoded message code (at most 9 bytes) once the header is out.
	hdr [headerLen]byte
}

// appendStart appends the header, header MAC and encrypted message code of
// a frame whose data (code included) is fsize bytes. The caller then
// passes exactly fsize - rlp.IntSize(code) bytes of message data to
// appendData, and finishes with appendEnd.
func (w *frameWriter) appendStart(dst []byte, fsize int, code uint64) []byte {
	dst = w.appendHeader(dst, fsize)
	return w.appendData(dst, rlp.AppendUint64(w.hdr[:0], code))
}

// appendHeader appends the encrypted header and the header MAC.
func (w *frameWriter) appendHeader(dst []byte, fsize int) []byte {
	h := &w.hdr
	h[0], h[1], h[2] = byte(fsize>>16), byte(fsize>>8), byte(fsize)
	copy(h[3:], headerData[:])
	clear(h[3+len(headerData):])
	w.enc.XORKeyStream(h[:], h[:])
	mac := w.mac.headerMAC(h)
	dst = append(dst, h[:]...)
	return append(dst, mac[:]...)
}

// appendData encrypts the next part of the frame data into dst and feeds
// the ciphertext to the MAC. Encrypting from p into dst saves the copy a
// build-then-encrypt-in-place scheme would make.
func (w *frameWriter) appendData(dst, p []byte) []byte {
	off := len(dst)
	dst = grow(dst, len(p))
	out := dst[off:]
	w.enc.XORKeyStream(out, p)
	w.mac.absorb(out)
	return dst
}

// appendEnd pads the frame and appends the frame MAC.
func (w *frameWriter) appendEnd(dst []byte, fsize int) []byte {
	if pad := paddedLen(fsize) - fsize; pad > 0 {
		dst = w.appendData(dst, zeroPadding[:pad])
	}
	mac := w.mac.frameMAC()
	return append(dst, mac[:]...)
}

// frameReader opens incoming frames.
type frameReader struct {
	dec cipher.Stream
	mac macState
}

// openHeader authenticates a header (ciphertext || MAC, 32 bytes) and
// returns its frame-size. The header is decrypted in place.
func (r *frameReader) openHeader(h []byte) (fsize int, err error) {
	hc := (*[headerLen]byte)(h[:headerLen])
	want := r.mac.headerMAC(hc)
	if subtle.ConstantTimeCompare(want[:], h[headerLen:headerLen+macLen]) != 1 {
		return 0, ErrHeaderMAC
	}
	r.dec.XORKeyStream(hc[:], hc[:])
	return int(hc[0])<<16 | int(hc[1])<<8 | int(hc[2]), nil
}

// openBody authenticates and decrypts, in place, a frame body: the padded
// frame ciphertext followed by the frame MAC. It returns the fsize bytes of
// frame data.
func (r *frameReader) openBody(body []byte, fsize int) ([]byte, error) {
	ct := body[:len(body)-macLen]
	r.mac.absorb(ct)
	want := r.mac.frameMAC()
	if subtle.ConstantTimeCompare(want[:], body[len(ct):]) != 1 {
		return nil, ErrFrameMAC
	}
	r.dec.XORKeyStream(ct, ct)
	return ct[:fsize], nil
}

// grow extends b by n bytes, reallocating (with slack, like append) only
// when the capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
