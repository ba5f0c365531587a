package rpc

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	wsWriteTimeout = 10 * time.Second
	wsPingInterval = 30 * time.Second
	wsPongTimeout  = 30 * time.Second
)

// WebSocketHandler serves JSON-RPC over WebSocket, one text message per
// request or batch, with subscriptions. Browsers may connect only from the
// same origin (gorilla/websocket's default check); other clients send no
// Origin header and are accepted.
func (s *Server) WebSocketHandler() http.Handler {
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader has replied with the error
		}
		s.serveWS(ws)
	})
}

// wsConn is one WebSocket connection. Its read loop (serveWS) handles one
// message at a time; writes from it and from subscriptions go through wmu.
type wsConn struct {
	ws     *websocket.Conn
	cancel context.CancelFunc // ends the calls and subscriptions of the connection
	subs   *subscriptions
	wmu    sync.Mutex
}

func (c *wsConn) subscriptions() *subscriptions { return c.subs }

func (c *wsConn) write(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, msg)
}

func (s *Server) serveWS(ws *websocket.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &wsConn{ws: ws, cancel: cancel}
	s.conns.Lock()
	if s.conns.stopped {
		s.conns.Unlock()
		cancel()
		ws.Close()
		return
	}
	s.conns.active[c] = struct{}{}
	s.conns.wg.Add(1)
	s.conns.Unlock()
	defer func() {
		s.conns.Lock()
		delete(s.conns.active, c)
		s.conns.Unlock()
		s.conns.wg.Done()
	}()

	var pinger sync.WaitGroup
	c.subs = newSubscriptions(ctx, func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return c.write(b)
	})
	defer func() {
		cancel()
		ws.Close()
		c.subs.wg.Wait()
		pinger.Wait()
	}()

	ws.SetReadLimit(MaxRequestSize)
	// Pings keep idle connections through proxies and find dead peers.
	ws.SetReadDeadline(time.Now().Add(wsPingInterval + wsPongTimeout))
	ws.SetPongHandler(func(string) error {
		ws.SetReadDeadline(time.Now().Add(wsPingInterval + wsPongTimeout))
		return nil
	})
	pinger.Add(1)
	go func() {
		defer pinger.Done()
		t := time.NewTicker(wsPingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.wmu.Lock()
				err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteTimeout))
				c.wmu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()

	for {
		typ, msg, err := ws.ReadMessage()
		if err != nil {
			// A message above the limit ends here too: gorilla closes with
			// 1009 (message too big).
			return
		}
		if typ != websocket.TextMessage && typ != websocket.BinaryMessage {
			continue
		}
		reply := s.handle(ctx, c, msg)
		if reply != nil {
			if err := c.write(reply); err != nil {
				return
			}
		}
		c.subs.release()
	}
}
