package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/trellis-p2p/trellis/discover"
)

func init() {
	register(&command{
		name: "discovery listen",
		summary: "run discovery v4 and v5 on one UDP socket; prints the enode URL and the enr: record, " +
			"then serves until interrupted",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			o := discv4Flags(fs, "127.0.0.1:30303")
			tcp := fs.Int("tcp", 0, "TCP port to announce in the record (0: none, discovery only)")
			return func(ctx context.Context, env *cmdEnv) error {
				if len(env.args) != 0 {
					return usageErrorf("unexpected arguments %q", env.args)
				}
				if *tcp < 0 || *tcp > 65535 {
					return usageErrorf("invalid --tcp %d", *tcp)
				}
				return discoveryListen(ctx, env, o, *tcp)
			}
		},
	})
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
