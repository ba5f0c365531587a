package main

import (
	"context"
	"fmt"

	"github.com/trellis-p2p/trellis/discover"
)

func init() {
	register(listenCommand("discovery listen",
		"run discovery v4 and v5 on one UDP socket; prints the enode URL and the enr: record, then serves until interrupted",
		discoveryListen))
}

// discoveryListen serves both protocols on one socket, as go-ethereum does
// on its discovery port: discv4 reads the socket and hands every datagram
// that is not a discv4 packet to discv5. Both share the node's record, so
// the enode URL and the enr: printed name the same endpoint.
func discoveryListen(ctx context.Context, env *cmdEnv, o *discv4Options, tcp int) error {
	s, err := o.open(env, tcp)
	if err != nil {
		return err
	}
	v4, v5, err := discover.ListenShared(s.conn, s.ln, s.cfg)
	if err != nil {
		s.abort()
		return err
	}
	defer func() {
		v5.Close()
		v4.Close()
		if s.db != nil {
			s.db.Close()
		}
	}()
	self := v4.Self()
	fmt.Fprintln(env.stdout, self.URLv4())
	fmt.Fprintln(env.stdout, self.String())
	<-ctx.Done()
	return nil
}
