package nat

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeIGD is a UPnP Internet Gateway Device on loopback: a device
// description and SOAP control URLs, no SSDP.
type fakeIGD struct {
	srv *httptest.Server
	URL string // of the description

	mu            sync.Mutex
	deviceType    string
	services      []string // service types, in description order
	natDisabled   map[string]bool
	extIP         string
	permanentOnly bool            // 725 for leases other than 0
	taken         map[uint16]bool // external ports held by other hosts: 718
	noAnyPort     bool            // AddAnyPortMapping is an invalid action
	fault         map[string]int  // action -> UPnP error code to answer
	raw           map[string]string
	hang          bool // hold every control request until the client gives up
	huge          bool // answer with an endless body
	description   string
	maps          map[igdKey]igdMapping
	calls         []string
}

type igdKey struct {
	proto string
	ext   uint16
}

type igdMapping struct {
	intPort uint16
	client  string
	lease   uint32
	desc    string
}

func newFakeIGD(t testing.TB, deviceType string, services ...string) *fakeIGD {
	f := &fakeIGD{
		deviceType:  deviceType,
		services:    services,
		natDisabled: make(map[string]bool),
		extIP:       "203.0.113.9",
		taken:       make(map[uint16]bool),
		fault:       make(map[string]int),
		raw:         make(map[string]string),
		maps:        make(map[igdKey]igdMapping),
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL + "/rootDesc.xml"
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIGD) mapping(proto string, ext uint16) (igdMapping, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.maps[igdKey{proto, ext}]
	return m, ok
}

func (f *fakeIGD) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func serviceShort(st string) string {
	return strings.NewReplacer("urn:schemas-upnp-org:service:", "", ":", "").Replace(st)
}

func (f *fakeIGD) descriptionLocked() string {
	if f.description != "" {
		return f.description
	}
	var svc strings.Builder
	for _, st := range f.services {
		fmt.Fprintf(&svc, `<service><serviceType>%s</serviceType><serviceId>urn:upnp-org:serviceId:x</serviceId>`+
			`<controlURL>/ctl/%s</controlURL><eventSubURL>/evt</eventSubURL><SCPDURL>/scpd.xml</SCPDURL></service>`,
			st, serviceShort(st))
	}
	v := f.deviceType[len(f.deviceType)-1:]
	return `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>1</minor></specVersion>
<device><deviceType>` + f.deviceType + `</deviceType><friendlyName>fake router</friendlyName>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:` + v + `</deviceType>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:` + v + `</deviceType>
<serviceList>` + svc.String() + `</serviceList>
</device></deviceList></device></deviceList></device></root>`
}

func (f *fakeIGD) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/rootDesc.xml" {
		f.mu.Lock()
		d := f.descriptionLocked()
		f.mu.Unlock()
		io.WriteString(w, d)
		return
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/ctl/") {
		http.NotFound(w, r)
		return
	}
	st, action, _ := strings.Cut(strings.Trim(r.Header.Get("SOAPACTION"), `"`), "#")
	args := soapArgs(r.Body)

	f.mu.Lock()
	f.calls = append(f.calls, action)
	hang, huge := f.hang, f.huge
	f.mu.Unlock()
	switch {
	case hang:
		<-r.Context().Done()
		return
	case huge:
		w.WriteHeader(200)
		io.WriteString(w, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:R xmlns:u="x"><NewX>`)
		chunk := bytes.Repeat([]byte("a"), 4096)
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if raw, ok := f.raw[action]; ok {
		io.WriteString(w, raw)
		return
	}
	if code := f.fault[action]; code != 0 {
		soapFault(w, code)
		return
	}
	out, code := f.actionLocked(st, action, args)
	if code != 0 {
		soapFault(w, code)
		return
	}
	var b strings.Builder
	for _, kv := range out {
		fmt.Fprintf(&b, "<%s>%s</%s>", kv[0], kv[1], kv[0])
	}
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" `+
		`s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:%sResponse xmlns:u="%s">%s</u:%sResponse>`+
		`</s:Body></s:Envelope>`, action, st, b.String(), action)
}

func (f *fakeIGD) actionLocked(st, action string, args map[string]string) (out [][2]string, code int) {
	ext64, _ := strconv.ParseUint(args["NewExternalPort"], 10, 16)
	int64_, _ := strconv.ParseUint(args["NewInternalPort"], 10, 16)
	lease64, _ := strconv.ParseUint(args["NewLeaseDuration"], 10, 32)
	ext, intp, lease := uint16(ext64), uint16(int64_), uint32(lease64)
	proto := args["NewProtocol"]
	add := func(ext uint16) int {
		if f.permanentOnly && lease != 0 {
			return UPnPOnlyPermanentLeasesSupported
		}
		k := igdKey{proto, ext}
		if m, ok := f.maps[k]; f.taken[ext] || (ok && m.client != args["NewInternalClient"]) {
			return UPnPConflictInMappingEntry
		}
		f.maps[k] = igdMapping{intPort: intp, client: args["NewInternalClient"], lease: lease, desc: args["NewPortMappingDescription"]}
		return 0
	}
	switch action {
	case "GetExternalIPAddress":
		return [][2]string{{"NewExternalIPAddress", f.extIP}}, 0
	case "GetNATRSIPStatus":
		nat := "1"
		if f.natDisabled[st] {
			nat = "0"
		}
		return [][2]string{{"NewRSIPAvailable", "0"}, {"NewNATEnabled", nat}}, 0
	case "AddPortMapping":
		return nil, add(ext)
	case "AddAnyPortMapping":
		if f.noAnyPort || !strings.HasSuffix(st, ":2") {
			return nil, UPnPInvalidAction
		}
		for p := ext; ; p++ {
			if code := add(p); code != UPnPConflictInMappingEntry {
				return [][2]string{{"NewReservedPort", strconv.Itoa(int(p))}}, code
			}
		}
	case "DeletePortMapping":
		k := igdKey{proto, ext}
		if _, ok := f.maps[k]; !ok {
			return nil, UPnPNoSuchEntryInArray
		}
		delete(f.maps, k)
		return nil, 0
	}
	return nil, UPnPInvalidAction
}

func soapFault(w http.ResponseWriter, code int) {
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" `+
		`s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault><faultcode>s:Client</faultcode>`+
		`<faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">`+
		`<errorCode>%d</errorCode><errorDescription>error %d</errorDescription></UPnPError></detail></s:Fault>`+
		`</s:Body></s:Envelope>`, code, code)
}

// soapArgs returns the text of the New* elements of a SOAP request.
func soapArgs(r io.Reader) map[string]string {
	args := make(map[string]string)
	dec := xml.NewDecoder(r)
	var cur string
	for {
		tok, err := dec.Token()
		if err != nil {
			return args
		}
		switch t := tok.(type) {
		case xml.StartElement:
			cur = t.Name.Local
			if strings.HasPrefix(cur, "New") {
				args[cur] = ""
			}
		case xml.CharData:
			if strings.HasPrefix(cur, "New") {
				args[cur] += string(t)
			}
		case xml.EndElement:
			cur = ""
		}
	}
}
