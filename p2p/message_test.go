package p2p

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestMsgDecode(t *testing.T) {
	type payloadT struct {
		A uint
		B string
	}
	enc := encodeList(t, 7, "seven")
	var v payloadT
	if err := NewMsg(3, enc).Decode(&v); err != nil || v.A != 7 || v.B != "seven" {
		t.Fatalf("decode: %+v %v", v, err)
	}
	// Trailing data after the value is tolerated, like go-ethereum.
	if err := NewMsg(3, append(enc, 0x01, 0x02)).Decode(&v); err != nil {
		t.Fatalf("trailing data: %v", err)
	}
	// A payload that is not a plain io.Reader of this package works too.
	msg := Msg{Code: 3, Size: uint32(len(enc)), Payload: bytes.NewReader(enc)}
	if err := msg.Decode(&v); err != nil {
		t.Fatal(err)
	}
	// Malformed payloads give ErrInvalidMsg.
	for _, bad := range [][]byte{nil, {0xc5, 0x01}, encodeList(t, []any{}, "y")} {
		if err := NewMsg(3, bad).Decode(&v); !errors.Is(err, ErrInvalidMsg) {
			t.Errorf("Decode(%x) = %v", bad, err)
		}
	}
	short := Msg{Code: 1, Size: 10, Payload: strings.NewReader("abc")}
	if err := short.Decode(&v); !errors.Is(err, ErrInvalidMsg) {
		t.Errorf("short payload: %v", err)
	}
}

func TestMsgDiscard(t *testing.T) {
	p := &payload{b: []byte("hello")}
	msg := Msg{Size: 5, Payload: p}
	if err := msg.Discard(); err != nil || p.Len() != 0 {
		t.Fatalf("Discard left %d bytes, %v", p.Len(), err)
	}
	r := strings.NewReader("hello")
	if err := (Msg{Size: 5, Payload: r}).Discard(); err != nil || r.Len() != 0 {
		t.Fatal("foreign reader not drained")
	}
	if err := (Msg{}).Discard(); err != nil {
		t.Fatal(err)
	}
}

func TestPayloadReader(t *testing.T) {
	p := &payload{b: []byte("abcdef")}
	buf := make([]byte, 4)
	if n, _ := p.Read(buf); n != 4 || string(buf) != "abcd" {
		t.Fatal("first read")
	}
	if c, _ := p.ReadByte(); c != 'e' {
		t.Fatal("ReadByte")
	}
	var out bytes.Buffer
	if n, err := p.WriteTo(&out); n != 1 || err != nil || out.String() != "f" {
		t.Fatal("WriteTo")
	}
	if _, err := p.Read(buf); err != io.EOF {
		t.Fatal("no EOF")
	}
	if _, err := p.ReadByte(); err != io.EOF {
		t.Fatal("no EOF from ReadByte")
	}
}

func TestMsgPipe(t *testing.T) {
	a, b := MsgPipe()
	go func() {
		if err := SendItems(a, 5, uint(1), "two"); err != nil {
			t.Error(err)
		}
		Send(a, 6, []uint{3})
	}()
	if err := ExpectMsg(b, 5, []any{uint(1), "two"}); err != nil {
		t.Fatal(err)
	}
	if err := ExpectMsg(b, 7, nil); err == nil || !strings.Contains(err.Error(), "code mismatch") {
		t.Fatalf("wrong code accepted: %v", err)
	}
	a.Close()
	if _, err := b.ReadMsg(); err != ErrPipeClosed {
		t.Fatalf("read after close: %v", err)
	}
	if err := b.WriteMsg(NewMsg(1, nil)); err != ErrPipeClosed {
		t.Fatalf("write after close: %v", err)
	}
}

func TestExpectMsgContent(t *testing.T) {
	a, b := MsgPipe()
	defer a.Close()
	go SendItems(a, 1, uint(7))
	if err := ExpectMsg(b, 1, []uint{8}); err == nil || !strings.Contains(err.Error(), "payload mismatch") {
		t.Fatalf("wrong payload accepted: %v", err)
	}
}

func TestMatchProtocols(t *testing.T) {
	proto := func(name string, version uint, length uint64) Protocol {
		return Protocol{Name: name, Version: version, Length: length}
	}
	type want struct {
		name    string
		version uint
		offset  uint64
	}
	tests := []struct {
		story  string
		local  []Protocol
		remote []Cap
		want   []want
	}{
		{
			story:  "no shared capability",
			local:  []Protocol{proto("eth", 68, 17)},
			remote: []Cap{{"snap", 1}},
		},
		{
			story:  "one shared capability starts at code 16",
			local:  []Protocol{proto("eth", 68, 17)},
			remote: []Cap{{"eth", 68}},
			want:   []want{{"eth", 68, 16}},
		},
		{
			story:  "the highest common version wins",
			local:  []Protocol{proto("eth", 66, 17), proto("eth", 67, 17), proto("eth", 68, 17)},
			remote: []Cap{{"eth", 68}, {"eth", 66}, {"eth", 67}, {"eth", 69}},
			want:   []want{{"eth", 68, 16}},
		},
		{
			story:  "ranges follow name order, whatever the announcement order",
			local:  []Protocol{proto("snap", 1, 8), proto("eth", 68, 17), proto("aaa", 1, 3)},
			remote: []Cap{{"snap", 1}, {"eth", 68}, {"aaa", 1}},
			want:   []want{{"aaa", 1, 16}, {"eth", 68, 19}, {"snap", 1, 36}},
		},
		{
			story:  "a lower version's length does not shift the next range",
			local:  []Protocol{proto("eth", 66, 100), proto("eth", 68, 17), proto("snap", 1, 8)},
			remote: []Cap{{"eth", 66}, {"eth", 68}, {"snap", 1}},
			want:   []want{{"eth", 68, 16}, {"snap", 1, 33}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.story, func(t *testing.T) {
			got := matchProtocols(tt.local, tt.remote)
			if len(got) != len(tt.want) {
				t.Fatalf("matched %d protocols, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].proto.Name != w.name || got[i].proto.Version != w.version || got[i].offset != w.offset {
					t.Errorf("match %d: %s/%d at %d, want %s/%d at %d", i, got[i].proto.Name, got[i].proto.Version, got[i].offset, w.name, w.version, w.offset)
				}
			}
		})
	}
}

func TestCapOrder(t *testing.T) {
	caps := []Cap{{"snap", 1}, {"eth", 68}, {"eth", 66}, {"aa", 9}}
	sortCaps(caps)
	if got := capsString(caps); got != "aa/9 eth/66 eth/68 snap/1" {
		t.Fatal(got)
	}
}

func capsString(caps []Cap) string {
	var s []string
	for _, c := range caps {
		s = append(s, c.String())
	}
	return strings.Join(s, " ")
}
