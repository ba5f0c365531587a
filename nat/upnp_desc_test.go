package nat

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestParseDescription(t *testing.T) {
	loc, _ := url.Parse("http://192.168.77.1:5000/rootDesc.xml")
	f := &fakeIGD{deviceType: igd2, services: []string{ip1, ppp1, ip2}}
	root, err := parseDescription([]byte(f.descriptionLocked()), loc)
	if err != nil {
		t.Fatal(err)
	}
	svcs := upnpServices(root, loc, http.DefaultClient)
	var kinds []string
	for _, s := range svcs {
		kinds = append(kinds, s.kind+" "+s.control.String())
	}
	want := "IGDv2-IP2 http://192.168.77.1:5000/ctl/WANIPConnection2," +
		"IGDv2-IP1 http://192.168.77.1:5000/ctl/WANIPConnection1," +
		"IGDv2-PPP1 http://192.168.77.1:5000/ctl/WANPPPConnection1"
	if got := strings.Join(kinds, ","); got != want {
		t.Fatalf("services\n got %s\nwant %s", got, want)
	}

	// URLBase moves the control URLs; a Latin-1 declaration is accepted.
	desc := `<?xml version="1.0" encoding="ISO-8859-1"?>` + strings.Replace(f.descriptionLocked()[len(`<?xml version="1.0"?>`):],
		"<device>", "<URLBase>http://10.0.0.1:80/</URLBase><device>", 1)
	root, err = parseDescription([]byte(desc), loc)
	if err != nil {
		t.Fatal(err)
	}
	if c := upnpServices(root, loc, http.DefaultClient)[0].control.String(); c != "http://10.0.0.1:80/ctl/WANIPConnection2" {
		t.Fatalf("control URL %s", c)
	}
}

func TestParseDescriptionMalformed(t *testing.T) {
	loc, _ := url.Parse("http://192.168.77.1:5000/rootDesc.xml")
	for _, tc := range []struct {
		name, desc string
		want       error
	}{
		{"not XML", "{}", ErrMalformedResponse},
		{"truncated", `<root xmlns="urn:schemas-upnp-org:device-1-0"><device>`, ErrMalformedResponse},
		{"other root element", `<html><body>login</body></html>`, ErrMalformedResponse},
		{"unknown charset", `<?xml version="1.0" encoding="KOI8-R"?><root/>`, ErrMalformedResponse},
		{"URLBase not HTTP", `<root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>file:///etc/</URLBase></root>`, ErrBadValue},
		{"URLBase unparsable", `<root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>http://[::1</URLBase></root>`, ErrBadValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseDescription([]byte(tc.desc), loc); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzUPnPDescription(f *testing.F) {
	f.Add((&fakeIGD{deviceType: igd2, services: []string{ip2, ip1}}).descriptionLocked())
	f.Add((&fakeIGD{deviceType: igd1, services: []string{ppp1}}).descriptionLocked())
	f.Add(`<root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>http://h/</URLBase><device><serviceList><service>` +
		`<serviceType>` + ip1 + `</serviceType><controlURL>x</controlURL></service></serviceList></device></root>`)
	loc, _ := url.Parse("http://192.168.77.1:5000/rootDesc.xml")
	f.Fuzz(func(t *testing.T, desc string) {
		root, err := parseDescription([]byte(desc), loc)
		if err != nil {
			if !errors.Is(err, ErrMalformedResponse) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, s := range upnpServices(root, loc, http.DefaultClient) {
			if s.control.Scheme != "http" && s.control.Scheme != "https" {
				t.Fatalf("control URL %v", s.control)
			}
		}
	})
}
