package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/netip"
	"os"

	"github.com/trellis-p2p/trellis/crypto"
	"github.com/trellis-p2p/trellis/enode"
)

func init() {
	register(&command{
		name:    "key generate",
		args:    "<file>",
		summary: "write a new node key (go-ethereum nodekey format) and print its node ID",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			force := fs.Bool("force", false, "overwrite an existing key file")
			return func(_ context.Context, env *cmdEnv) error {
				if len(env.args) != 1 {
					return usageErrorf("expected one argument: the key file to write")
				}
				return keyGenerate(env, env.args[0], *force)
			}
		},
	})
	register(&command{
		name:    "key inspect",
		args:    "<file>",
		summary: "print the node ID and enode URL of a node key file",
		flags: func(fs *flag.FlagSet) func(context.Context, *cmdEnv) error {
			ip := fs.String("ip", "127.0.0.1", "IP address for the printed enode URL")
			tcp := fs.Int("tcp", 30303, "TCP port for the printed enode URL")
			udp := fs.Int("udp", 30303, "UDP port for the printed enode URL")
			return func(_ context.Context, env *cmdEnv) error {
				if len(env.args) != 1 {
					return usageErrorf("expected one argument: the key file to read")
				}
				addr, err := netip.ParseAddr(*ip)
				if err != nil {
					return usageErrorf("invalid --ip %q: %v", *ip, err)
				}
				return keyInspect(env, env.args[0], addr, *tcp, *udp)
			}
		},
	})
}

func keyGenerate(env *cmdEnv, path string, force bool) error {
	if !force {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s already exists; pass --force to overwrite it", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return err
	}
	if err := crypto.SaveNodeKey(path, key); err != nil {
		return fmt.Errorf("cannot write key file: %w", err)
	}
	fmt.Fprintf(env.stdout, "Node ID: %s\n", enode.PubkeyToIDV4(key.PubKey()))
	return nil
}

func keyInspect(env *cmdEnv, path string, ip netip.Addr, tcp, udp int) error {
	key, err := crypto.LoadNodeKey(path)
	if err != nil {
		return fmt.Errorf("cannot read key file (expected 64 hex characters, as go-ethereum's nodekey): %w", err)
	}
	n := enode.NewV4(key.PubKey(), ip, tcp, udp)
	fmt.Fprintf(env.stdout, "Node ID: %s\n", n.ID())
	fmt.Fprintf(env.stdout, "Public key: %x\n", crypto.MarshalPubkey(key.PubKey())[1:])
	fmt.Fprintf(env.stdout, "enode: %s\n", n.URLv4())
	return nil
}
