package p2p

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/trellis-p2p/trellis/rlp"
)

// Msg is one message of a protocol. Payload holds Size bytes of RLP data and
// must be read to the end, decoded or discarded before the next ReadMsg; a
// Msg can be written only once, since writing drains its Payload.
type Msg struct {
	Code       uint64
	Size       uint32 // payload size, uncompressed
	Payload    io.Reader
	ReceivedAt time.Time
}

// NewMsg returns a message with data as its payload. data must not be
// modified until the message is written.
func NewMsg(code uint64, data []byte) Msg {
	return Msg{Code: code, Size: uint32(len(data)), Payload: &payload{b: data}}
}

// Decode decodes the first RLP value of the payload into val, which must be
// a pointer, and consumes the payload. Errors wrap ErrInvalidMsg.
func (msg Msg) Decode(val any) error {
	data, err := msg.bytes()
	if err != nil {
		return fmt.Errorf("%w: code %#x: %w", ErrInvalidMsg, msg.Code, err)
	}
	// Data after the first value is tolerated, as go-ethereum does.
	_, _, rest, err := rlp.Split(data)
	if err == nil {
		err = rlp.DecodeBytes(data[:len(data)-len(rest)], val)
	}
	if err != nil {
		return fmt.Errorf("%w: code %#x, size %d: %w", ErrInvalidMsg, msg.Code, msg.Size, err)
	}
	return nil
}

// Discard consumes whatever is left of the payload.
func (msg Msg) Discard() error {
	if p, ok := msg.Payload.(*payload); ok {
		p.take()
		return nil
	}
	if msg.Payload == nil {
		return nil
	}
	_, err := io.Copy(io.Discard, msg.Payload)
	return err
}

// Time returns when the message was received.
func (msg Msg) Time() time.Time { return msg.ReceivedAt }

func (msg Msg) String() string { return fmt.Sprintf("msg #%v (%v bytes)", msg.Code, msg.Size) }

// bytes consumes the payload and returns it, without copying when it was
// produced by this package.
func (msg Msg) bytes() ([]byte, error) {
	switch p := msg.Payload.(type) {
	case *payload:
		return p.take(), nil
	case nil:
		if msg.Size != 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, nil
	}
	buf := make([]byte, msg.Size)
	if _, err := io.ReadFull(msg.Payload, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// payload is the Payload of messages made by this package. Unlike
// bytes.Reader it lets the package take the remaining bytes without a copy.
type payload struct {
	b   []byte
	off int
}

func (p *payload) Read(b []byte) (int, error) {
	if p.off >= len(p.b) {
		return 0, io.EOF
	}
	n := copy(b, p.b[p.off:])
	p.off += n
	return n, nil
}

func (p *payload) ReadByte() (byte, error) {
	if p.off >= len(p.b) {
		return 0, io.EOF
	}
	c := p.b[p.off]
	p.off++
	return c, nil
}

func (p *payload) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(p.take())
	return int64(n), err
}

// Len returns the number of unread bytes (rlp.NewStream uses it as a limit).
func (p *payload) Len() int { return len(p.b) - p.off }

func (p *payload) take() []byte {
	b := p.b[p.off:]
	p.off = len(p.b)
	return b
}

// MsgReader reads messages.
type MsgReader interface {
	ReadMsg() (Msg, error)
}

// MsgWriter writes messages.
type MsgWriter interface {
	// WriteMsg sends a message. It returns once the message has been handed
	// to the connection (or failed); the payload has been consumed by then.
	WriteMsg(Msg) error
}

// MsgReadWriter reads and writes messages. Implementations allow ReadMsg and
// WriteMsg to be called concurrently, and WriteMsg from several goroutines.
type MsgReadWriter interface {
	MsgReader
	MsgWriter
}

// Send RLP-encodes data and writes it as a message with the given code.
func Send(w MsgWriter, code uint64, data any) error {
	enc, err := rlp.EncodeToBytes(data)
	if err != nil {
		return err
	}
	return w.WriteMsg(NewMsg(code, enc))
}

// SendItems writes a message whose payload is the RLP list of elems.
func SendItems(w MsgWriter, code uint64, elems ...any) error {
	return Send(w, code, elems)
}

// ExpectMsg reads a message from r and checks its code and, unless content
// is nil, that its payload is the RLP encoding of content. It is meant for
// protocol tests.
func ExpectMsg(r MsgReader, code uint64, content any) error {
	msg, err := r.ReadMsg()
	if err != nil {
		return err
	}
	if msg.Code != code {
		msg.Discard()
		return fmt.Errorf("message code mismatch: got %d, want %d", msg.Code, code)
	}
	if content == nil {
		return msg.Discard()
	}
	want, err := rlp.EncodeToBytes(content)
	if err != nil {
		return fmt.Errorf("cannot encode expected content: %w", err)
	}
	got, err := msg.bytes()
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("message payload mismatch:\ngot:  %x\nwant: %x", got, want)
	}
	return nil
}
