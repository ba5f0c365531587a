package p2p

import (
	"cmp"
	"net"
	"slices"
)

// PeerInfo summarises a peer, in the JSON shape of go-ethereum's admin_peers.
type PeerInfo struct {
	ENR     string   `json:"enr,omitempty"`
	Enode   string   `json:"enode"`
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Caps    []string `json:"caps"`
	Network struct {
		LocalAddress  string `json:"localAddress"`
		RemoteAddress string `json:"remoteAddress"`
		Inbound       bool   `json:"inbound"`
		Trusted       bool   `json:"trusted"`
		Static        bool   `json:"static"`
	} `json:"network"`
	Protocols map[string]any `json:"protocols"` // per running protocol: its PeerInfo
}

// Info returns a summary of the peer. Protocols without a PeerInfo function
// report "unknown"; those whose PeerInfo returns nil report "handshake".
func (p *Peer) Info() *PeerInfo {
	node := p.Node()
	info := &PeerInfo{
		Enode:     node.URLv4(),
		ID:        p.ID().String(),
		Name:      p.Fullname(),
		Caps:      make([]string, 0, len(p.caps)),
		Protocols: make(map[string]any, len(p.running)),
	}
	for _, c := range p.caps {
		info.Caps = append(info.Caps, c.String())
	}
	if node.Seq() > 0 {
		info.ENR = node.String()
	}
	info.Network.LocalAddress = addrString(p.LocalAddr())
	info.Network.RemoteAddress = addrString(p.RemoteAddr())
	info.Network.Inbound = p.Inbound()
	info.Network.Trusted = p.Trusted()
	info.Network.Static = p.StaticDialed()
	for _, rw := range p.running {
		var v any = "unknown"
		if rw.PeerInfo != nil {
			if v = rw.PeerInfo(p.ID()); v == nil {
				v = "handshake"
			}
		}
		info.Protocols[rw.Name] = v
	}
	return info
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// NodeInfo summarises the local node, in the JSON shape of go-ethereum's
// admin_nodeInfo.
type NodeInfo struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Enode string `json:"enode"`
	ENR   string `json:"enr"`
	IP    string `json:"ip"`
	Ports struct {
		Discovery int `json:"discovery"`
		Listener  int `json:"listener"`
	} `json:"ports"`
	ListenAddr string         `json:"listenAddr"`
	Protocols  map[string]any `json:"protocols"`
}

// NodeInfo returns a summary of the local node.
func (srv *Server) NodeInfo() *NodeInfo {
	node := srv.Self()
	info := &NodeInfo{
		Name:       srv.config().Name,
		Enode:      node.URLv4(),
		ID:         node.ID().String(),
		IP:         node.IPAddr().String(),
		ENR:        node.String(),
		ListenAddr: addrString(srv.Addr()),
		Protocols:  make(map[string]any),
	}
	info.Ports.Discovery = node.UDP()
	info.Ports.Listener = node.TCP()
	for _, p := range srv.config().Protocols {
		if _, ok := info.Protocols[p.Name]; ok {
			continue
		}
		var v any = "unknown"
		if p.NodeInfo != nil {
			v = p.NodeInfo()
		}
		info.Protocols[p.Name] = v
	}
	return info
}

// PeersInfo returns Info for every peer, sorted by node ID.
func (srv *Server) PeersInfo() []*PeerInfo {
	peers := srv.Peers()
	infos := make([]*PeerInfo, 0, len(peers))
	for _, p := range peers {
		infos = append(infos, p.Info())
	}
	slices.SortFunc(infos, func(a, b *PeerInfo) int { return cmp.Compare(a.ID, b.ID) })
	return infos
}
