package p2p

import (
	"errors"
	"sync"
)

// ErrPipeClosed is returned by MsgPipe ends after Close.
var ErrPipeClosed = errors.New("p2p: read or write on closed message pipe")

// MsgPipe returns the two ends of an in-memory message connection, for
// testing protocol code without a peer. A WriteMsg on one end blocks until the
// other end reads the message. The payload is copied, so the writer may reuse
// its buffer once WriteMsg returns.
func MsgPipe() (*MsgPipeRW, *MsgPipeRW) {
	var (
		c1, c2 = make(chan Msg), make(chan Msg)
		shared = &pipeState{closing: make(chan struct{})}
	)
	return &MsgPipeRW{w: c1, r: c2, state: shared}, &MsgPipeRW{w: c2, r: c1, state: shared}
}

// MsgPipeRW is one end of a MsgPipe.
type MsgPipeRW struct {
	w     chan<- Msg
	r     <-chan Msg
	state *pipeState
}

type pipeState struct {
	once    sync.Once
	closing chan struct{}
}

// WriteMsg sends msg to the other end.
func (p *MsgPipeRW) WriteMsg(msg Msg) error {
	data, err := msg.bytes()
	if err != nil {
		return err
	}
	out := NewMsg(msg.Code, append([]byte(nil), data...))
	select {
	case <-p.state.closing:
		return ErrPipeClosed
	default:
	}
	select {
	case p.w <- out:
		return nil
	case <-p.state.closing:
		return ErrPipeClosed
	}
}

// ReadMsg returns the next message written on the other end.
func (p *MsgPipeRW) ReadMsg() (Msg, error) {
	select {
	case <-p.state.closing:
		return Msg{}, ErrPipeClosed
	default:
	}
	select {
	case msg := <-p.r:
		return msg, nil
	case <-p.state.closing:
		return Msg{}, ErrPipeClosed
	}
}

// Close closes both ends; blocked calls return ErrPipeClosed.
func (p *MsgPipeRW) Close() error {
	p.state.once.Do(func() { close(p.state.closing) })
	return nil
}
