package p2p

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/trellis-p2p/trellis/enr"
	"github.com/trellis-p2p/trellis/netutil"
)

// NAT timing, as in go-ethereum.
const (
	portMapDuration        = 10 * time.Minute // lifetime requested for a mapping
	portMapRefreshInterval = 8 * time.Minute  // refresh before it lapses
	portMapRetryInterval   = 5 * time.Minute  // after a failed request
	extipRetryInterval     = 2 * time.Minute  // how often the external IP is checked
	natCallTimeout         = 10 * time.Second // bounds one request to the gateway
	natMaxRefreshFailures  = 5                // then the mapping is deleted and made anew
)

// natLoop keeps the local record's IP equal to the gateway's external address
// and, when listening on a routable address, the TCP port mapped. It owns all
// NAT state; one timer wakes it for whichever task is due first.
func (srv *Server) natLoop() {
	defer srv.natWG.Done()
	var (
		n        = srv.cfg.NAT
		log      = srv.log.With("interface", n.String())
		now      = time.Now()
		nextIP   = now
		lastIP   netip.Addr
		intPort  = srv.natPort()
		extPort  int
		failures int
		nextMap  time.Time // zero: no mapping wanted
		timer    = time.NewTimer(0)
	)
	if intPort != 0 {
		nextMap = now
	}
	defer func() {
		timer.Stop()
		if extPort != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), natCallTimeout)
			defer cancel()
			log.Debug("Deleting port mapping", "extport", extPort, "intport", intPort)
			n.DeleteMapping(ctx, "TCP", extPort, intPort)
		}
	}()

	for {
		select {
		case <-srv.ctx.Done():
			return
		case <-timer.C:
		}
		now = time.Now()
		if !now.Before(nextIP) {
			nextIP = now.Add(extipRetryInterval)
			ctx, cancel := context.WithTimeout(srv.ctx, natCallTimeout)
			ip, err := n.ExternalIP(ctx)
			cancel()
			switch {
			case err != nil:
				log.Debug("Couldn't get external IP", "err", err)
			case ip != lastIP:
				log.Info("External IP changed", "ip", ip)
				lastIP = ip
				srv.localnode.SetStaticIP(ip)
				if !nextMap.IsZero() {
					nextMap = now // a new network may need a new mapping
				}
			}
		}
		if !nextMap.IsZero() && !now.Before(nextMap) {
			ctx, cancel := context.WithTimeout(srv.ctx, natCallTimeout)
			p, err := n.AddMapping(ctx, "TCP", max(extPort, intPort), intPort, "ethereum p2p", portMapDuration)
			cancel()
			switch {
			case err != nil && extPort != 0:
				// Gateways are often flaky; the old mapping may still hold.
				failures++
				log.Debug("Couldn't refresh port mapping", "err", err, "failures", failures)
				if failures > natMaxRefreshFailures {
					ctx, cancel := context.WithTimeout(srv.ctx, natCallTimeout)
					n.DeleteMapping(ctx, "TCP", extPort, intPort)
					cancel()
					extPort, failures = 0, 0
				}
				nextMap = now.Add(portMapRetryInterval)
			case err != nil:
				log.Debug("Couldn't add port mapping", "err", err)
				nextMap = now.Add(portMapRetryInterval)
			default:
				failures = 0
				if int(p) != extPort {
					extPort = int(p)
					log.Info("NAT mapped port", "extport", extPort, "intport", intPort)
					srv.localnode.Set(enr.TCP(uint16(extPort)))
				}
				nextMap = now.Add(portMapRefreshInterval)
			}
		}
		next := nextIP
		if !nextMap.IsZero() && nextMap.Before(next) {
			next = nextMap
		}
		timer.Reset(next.Sub(now))
	}
}

// natPort returns the TCP port to map: the listening port, unless we listen
// on a loopback or LAN address that the Internet cannot reach anyway.
func (srv *Server) natPort() int {
	if srv.listener == nil {
		return 0
	}
	a, ok := srv.listener.Addr().(*net.TCPAddr)
	if !ok {
		return 0
	}
	if ip := netutil.IPToAddr(a.IP); ip.IsValid() && !ip.IsUnspecified() && netutil.IsLAN(ip) {
		return 0
	}
	return a.Port
}
