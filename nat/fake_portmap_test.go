package nat

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Response encoders: the gateway's side of the codecs, for the fake server
// and for round trips in the fuzz targets.

func encodePMPResponse(r pmpResponse) []byte {
	var b []byte
	switch {
	case r.Result != PMPSuccess:
		b = make([]byte, pmpHeaderSize)
	case r.Op == pmpOpExternal:
		b = make([]byte, pmpExternalRespLen)
		a := r.ExternalIP.As4()
		copy(b[8:], a[:])
	default:
		b = make([]byte, pmpMapRespLen)
		binary.BigEndian.PutUint16(b[8:], r.InternalPort)
		binary.BigEndian.PutUint16(b[10:], r.ExternalPort)
		binary.BigEndian.PutUint32(b[12:], r.Lifetime)
	}
	b[0] = pmpVersion
	b[1] = r.Op + pmpRespBit
	binary.BigEndian.PutUint16(b[2:], uint16(r.Result))
	binary.BigEndian.PutUint32(b[4:], r.Epoch)
	return b
}

func encodePCPResponse(r pcpResponse) []byte {
	b := make([]byte, pcpHeaderSize)
	b[0] = pcpVersion
	b[1] = r.Op | pcpRespBit
	b[3] = byte(r.Result)
	binary.BigEndian.PutUint32(b[4:], r.Lifetime)
	binary.BigEndian.PutUint32(b[8:], r.Epoch)
	if r.HasMap {
		m := make([]byte, pcpMapSize)
		copy(m, r.Nonce[:])
		m[12] = r.Protocol
		binary.BigEndian.PutUint16(m[16:], r.InternalPort)
		binary.BigEndian.PutUint16(m[18:], r.ExternalPort)
		pcpAddr(m[20:], r.ExternalIP, r.ExternalIP)
		b = append(b, m...)
	}
	return b
}

// decodePCPMapRequest is the server's decoder of MAP requests.
func decodePCPMapRequest(b []byte) (pcpMapRequest, bool) {
	if len(b) < pcpHeaderSize+pcpMapSize || b[0] != pcpVersion || b[1] != pcpOpMap {
		return pcpMapRequest{}, false
	}
	var r pcpMapRequest
	r.Lifetime = binary.BigEndian.Uint32(b[4:])
	r.ClientIP = netip.AddrFrom16([16]byte(b[8:24])).Unmap()
	m := b[pcpHeaderSize:]
	copy(r.Nonce[:], m)
	r.Protocol = m[12]
	r.InternalPort = binary.BigEndian.Uint16(m[16:])
	r.ExternalPort = binary.BigEndian.Uint16(m[18:])
	r.ExternalIP = netip.AddrFrom16([16]byte(m[20:36])).Unmap()
	return r, true
}

// fakePortmapper is a NAT-PMP and PCP server on loopback, the way
// miniupnpd serves both on one port.
type fakePortmapper struct {
	t    testing.TB
	conn *net.UDPConn
	alt  *net.UDPConn // a second socket, for replies from the wrong address
	Addr netip.AddrPort
	done chan struct{}

	mu           sync.Mutex
	speakPMP     bool
	speakPCP     bool
	extIP        netip.Addr
	boot         time.Time // the epoch counts from here
	maps         map[pcpKey]*fakeMapping
	taken        map[uint16]bool // external ports held by other hosts
	maxLifetime  uint32          // cap on granted lifetimes, 0: none
	pmpResult    PMPResultCode   // forced result for NAT-PMP requests
	pcpResult    PCPResultCode   // forced result for PCP requests
	silent       bool            // answer nothing
	reply        func(req []byte) []byte
	spoofFirst   bool // first answer each request from alt with a bogus reply
	requests     int
	pcpClientIPs []netip.Addr
}

type fakeMapping struct {
	ext      uint16
	nonce    pcpNonce
	lifetime uint32
}

func newFakePortmapper(t testing.TB) *fakePortmapper {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	alt, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePortmapper{
		t: t, conn: conn, alt: alt, done: make(chan struct{}),
		Addr:     conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		speakPMP: true, speakPCP: true,
		extIP: netip.MustParseAddr("203.0.113.7"),
		boot:  time.Now().Add(-1000 * time.Second),
		maps:  make(map[pcpKey]*fakeMapping),
		taken: make(map[uint16]bool),
	}
	go f.serve()
	t.Cleanup(func() {
		conn.Close()
		alt.Close()
		<-f.done
	})
	return f
}

func (f *fakePortmapper) set(fn func(f *fakePortmapper)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakePortmapper) mapping(proto uint8, port uint16) (fakeMapping, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.maps[pcpKey{proto, port}]
	if !ok {
		return fakeMapping{}, false
	}
	return *m, true
}

func (f *fakePortmapper) serve() {
	defer close(f.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.requests++
		resp := f.handleLocked(buf[:n])
		spoof := f.spoofFirst
		f.mu.Unlock()
		if resp == nil {
			continue
		}
		if spoof {
			bogus := append([]byte(nil), resp...)
			for i := 4; i < len(bogus); i++ {
				bogus[i] ^= 0x55
			}
			f.alt.WriteToUDPAddrPort(bogus, from)
		}
		f.conn.WriteToUDPAddrPort(resp, from)
	}
}

func (f *fakePortmapper) epochLocked() uint32 { return uint32(time.Since(f.boot) / time.Second) }

func (f *fakePortmapper) handleLocked(req []byte) []byte {
	if f.silent {
		return nil
	}
	if f.reply != nil {
		return f.reply(req)
	}
	if len(req) < 2 {
		return nil
	}
	switch req[0] {
	case pmpVersion:
		if !f.speakPMP {
			// RFC 6887 section 9: a PCP-only server answers UNSUPP_VERSION.
			return encodePCPResponse(pcpResponse{Op: req[1] & 0x7f, Result: PCPUnsuppVersion, Epoch: f.epochLocked()})
		}
		return f.pmpLocked(req)
	case pcpVersion:
		if !f.speakPCP {
			// RFC 6886 section 3.5: a NAT-PMP server answers version 0, code 1.
			return encodePMPResponse(pmpResponse{Op: req[1] & 0x7f, Result: PMPUnsupportedVersion, Epoch: f.epochLocked()})
		}
		return f.pcpLocked(req)
	}
	return nil
}

// grantLocked maps (proto, intport) and returns the external port.
func (f *fakePortmapper) grantLocked(k pcpKey, want uint16, lifetime uint32, nonce pcpNonce) *fakeMapping {
	if m, ok := f.maps[k]; ok {
		m.lifetime = lifetime
		return m
	}
	if want == 0 {
		want = k.port
	}
	inUse := func(p uint16) bool {
		if f.taken[p] {
			return true
		}
		for kk, m := range f.maps {
			if m.ext == p && kk.proto == k.proto {
				return true
			}
		}
		return false
	}
	for inUse(want) {
		want++
	}
	m := &fakeMapping{ext: want, nonce: nonce, lifetime: lifetime}
	f.maps[k] = m
	return m
}

func (f *fakePortmapper) capLifetime(l uint32) uint32 {
	if f.maxLifetime != 0 && l > f.maxLifetime {
		return f.maxLifetime
	}
	return l
}

func (f *fakePortmapper) pmpLocked(req []byte) []byte {
	op := req[1]
	r := pmpResponse{Op: op, Epoch: f.epochLocked(), Result: f.pmpResult}
	if r.Result != PMPSuccess {
		return encodePMPResponse(r)
	}
	switch op {
	case pmpOpExternal:
		r.ExternalIP = f.extIP
	case pmpOpMapUDP, pmpOpMapTCP:
		if len(req) < 12 {
			return nil
		}
		proto := uint8(ipProtoUDP)
		if op == pmpOpMapTCP {
			proto = ipProtoTCP
		}
		intport := binary.BigEndian.Uint16(req[4:])
		ext := binary.BigEndian.Uint16(req[6:])
		life := binary.BigEndian.Uint32(req[8:])
		k := pcpKey{proto, intport}
		r.InternalPort = intport
		if life == 0 {
			delete(f.maps, k)
			break
		}
		m := f.grantLocked(k, ext, f.capLifetime(life), pcpNonce{})
		r.ExternalPort, r.Lifetime = m.ext, m.lifetime
	default:
		r.Result = PMPUnsupportedOpcode
	}
	return encodePMPResponse(r)
}

func (f *fakePortmapper) pcpLocked(req []byte) []byte {
	op := req[1] & 0x7f
	if len(req) >= pcpHeaderSize {
		f.pcpClientIPs = append(f.pcpClientIPs, netip.AddrFrom16([16]byte(req[8:24])).Unmap())
	}
	r := pcpResponse{Op: op, Epoch: f.epochLocked(), Result: f.pcpResult}
	switch op {
	case pcpOpAnnounce:
		return encodePCPResponse(r)
	case pcpOpMap:
		mr, ok := decodePCPMapRequest(req)
		if !ok {
			r.Result = PCPMalformedRequest
			return encodePCPResponse(r)
		}
		r.HasMap, r.Nonce, r.Protocol, r.InternalPort = true, mr.Nonce, mr.Protocol, mr.InternalPort
		if r.Result != PCPSuccess {
			r.Lifetime = 30
			return encodePCPResponse(r)
		}
		k := pcpKey{mr.Protocol, mr.InternalPort}
		if m, ok := f.maps[k]; ok && m.nonce != mr.Nonce {
			r.Result = PCPNotAuthorized
			r.Lifetime = 30
			return encodePCPResponse(r)
		}
		if mr.Lifetime == 0 {
			delete(f.maps, k)
			r.ExternalIP = f.extIP
			return encodePCPResponse(r)
		}
		m := f.grantLocked(k, mr.ExternalPort, f.capLifetime(mr.Lifetime), mr.Nonce)
		r.ExternalPort, r.Lifetime, r.ExternalIP = m.ext, m.lifetime, f.extIP
		return encodePCPResponse(r)
	}
	r.Result = PCPUnsuppOpcode
	return encodePCPResponse(r)
}
