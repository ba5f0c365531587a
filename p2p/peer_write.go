package p2p

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// This file holds the write side of a peer (one writer at a time, bursts
// flushed together), the keep-alive pings, and protoRW, the view of the
// connection each protocol gets (rlpx.md "Message ID Based Multiplexing").

// ping runs on the ping timer's goroutine.
func (p *Peer) ping() {
	if !p.enterAux() {
		return
	}
	defer p.auxWG.Done()
	if _, err := p.writeMsg(pingMsg, emptyList, baseCap, pingMsg); err != nil {
		return
	}
	p.aux.Lock()
	if !p.aux.stopped {
		p.pingTimer.Reset(pingInterval)
	}
	p.aux.Unlock()
}

// queuePong answers a ping from a separate goroutine: writing from the read
// loop could deadlock two peers whose send buffers are both full. A burst of
// pings is answered by one pong.
func (p *Peer) queuePong() {
	if p.pongPending.Swap(true) || !p.enterAux() {
		return
	}
	go func() {
		defer p.auxWG.Done()
		p.pongPending.Store(false)
		p.writeMsg(pongMsg, emptyList, baseCap, pongMsg)
	}()
}

// enterAux registers a ping/pong goroutine unless the peer is shutting down.
func (p *Peer) enterAux() bool {
	p.aux.Lock()
	defer p.aux.Unlock()
	if p.aux.stopped {
		return false
	}
	p.auxWG.Add(1)
	return true
}

// writeMsg writes one message with its absolute code. proto and protoCode are
// for metrics. A failed write ends the peer, since the stream is then
// corrupt.
func (p *Peer) writeMsg(code uint64, data []byte, proto Cap, protoCode uint64) (uint32, error) {
	if p.conn == nil {
		return 0, ErrShuttingDown // NewPeer
	}
	p.writers.Add(1)
	p.wmu.lock <- struct{}{}
	size, err := p.writeLocked(code, data)
	// The last writer in a burst flushes for all: earlier ones leave their
	// frames in the buffer while others wait for the lock.
	if p.writers.Add(-1) == 0 && err == nil && p.wmu.unflushed {
		err = p.flushLocked()
	}
	<-p.wmu.lock
	if err != nil {
		if !errors.Is(err, ErrShuttingDown) && !errors.Is(err, ErrMsgTooLarge) {
			p.end(peerEnd{err: fmt.Errorf("write: %w", err), reason: DiscNetworkError})
		}
		return 0, err
	}
	if p.hooks != nil {
		p.hooks.metrics.Egress(proto, protoCode, int(size))
	}
	return size, nil
}

func (p *Peer) writeLocked(code uint64, data []byte) (uint32, error) {
	if p.wmu.err != nil || p.isClosing() {
		return 0, ErrShuttingDown
	}
	if now := time.Now(); p.wmu.deadline.Sub(now) < frameWriteTimeout-deadlineSlack {
		p.wmu.deadline = now.Add(frameWriteTimeout)
		p.fd.SetWriteDeadline(p.wmu.deadline)
		// end may have shortened the deadline just before we overwrote it.
		if p.isClosing() {
			return 0, ErrShuttingDown
		}
	}
	var size uint32
	var err error
	if bw, ok := p.conn.(bufferedWriter); ok {
		size, err = bw.BufferMsg(code, data)
		p.wmu.unflushed = err == nil
	} else {
		size, err = p.conn.WriteMsg(code, data)
	}
	if err != nil && isSizeError(err) {
		// Refused before anything was written: the stream is intact.
		return 0, fmt.Errorf("%w: %w", ErrMsgTooLarge, err)
	}
	if err != nil {
		p.wmu.err = err
	}
	return size, err
}

func (p *Peer) flushLocked() error {
	p.wmu.unflushed = false
	if err := p.conn.(flusher).Flush(); err != nil {
		p.wmu.err = err
		return err
	}
	return nil
}

// protoRW is the MsgReadWriter of one protocol on one peer: it shifts message
// codes by the protocol's offset and checks them against its Length.
type protoRW struct {
	*Protocol
	offset uint64
	in     chan Msg // from the read loop, unbuffered; closed when it ends
	peer   *Peer
}

// ReadMsg waits on one channel, closed when the peer ends, rather than a
// select with closing: an idle protocol goroutine then holds one waiter
// record instead of two.
func (rw *protoRW) ReadMsg() (Msg, error) {
	msg, ok := <-rw.in
	if !ok {
		return Msg{}, io.EOF
	}
	rw.peer.msgEvent(PeerEventTypeMsgRecv, rw.Name, msg.Code, msg.Size)
	return msg, nil
}

func (rw *protoRW) WriteMsg(msg Msg) error {
	if msg.Code >= rw.Length {
		msg.Discard()
		return fmt.Errorf("%w: %d not below %s length %d", ErrInvalidMsgCode, msg.Code, rw.Cap(), rw.Length)
	}
	data, err := msg.bytes()
	if err != nil {
		return err
	}
	if _, err := rw.peer.writeMsg(rw.offset+msg.Code, data, rw.Cap(), msg.Code); err != nil {
		return err
	}
	rw.peer.msgEvent(PeerEventTypeMsgSend, rw.Name, msg.Code, uint32(len(data)))
	return nil
}

func (p *Peer) msgEvent(typ PeerEventType, proto string, code uint64, size uint32) {
	if p.hooks == nil || p.hooks.events == nil {
		return
	}
	// Copies, so that only this branch allocates.
	c, sz := code, size
	p.hooks.events.Send(&PeerEvent{
		Type:          typ,
		Peer:          p.ID(),
		Protocol:      proto,
		MsgCode:       &c,
		MsgSize:       &sz,
		LocalAddress:  p.LocalAddr().String(),
		RemoteAddress: p.RemoteAddr().String(),
	})
}
