package v5wire

import (
	"errors"
	"testing"

	"github.com/trellis-p2p/trellis/enr"
)

// sizedRecord returns a signed record of exactly size bytes.
func sizedRecord(t *testing.T, size int) *enr.Record {
	t.Helper()
	key := newKey(t)
	for pad := size - 120; pad > 0; pad-- {
		var r enr.Record
		r.Set(enr.Generic{Key: "z", Value: make([]byte, pad)})
		if err := enr.SignV4(&r, key); err != nil {
			continue // too big yet
		}
		if r.Size() == size {
			return &r
		}
		if r.Size() < size {
			break
		}
	}
	t.Fatalf("cannot make a record of %d bytes", size)
	return nil
}

func TestSplitNodes(t *testing.T) {
	small := testRecords(t, 40)
	max := sizedRecord(t, enr.SizeLimit)
	maxes := make([]*enr.Record, 16)
	for i := range maxes {
		maxes[i] = max
	}
	tests := []struct {
		name     string
		reqID    []byte
		records  []*enr.Record
		wantMsgs int
	}{
		{"no records", []byte{1}, nil, 1},
		{"one record", []byte{1}, small[:1], 1},
		{"16 typical records", []byte{1, 2, 3, 4, 5, 6, 7, 8}, small[:16], 2},
		{"40 typical records", nil, small, 0},
		// 3 × 300 bytes fit in MaxMessageSize, 4 do not.
		{"16 records of 300 bytes", []byte{1, 2, 3, 4, 5, 6, 7, 8}, maxes, 6},
	}
	for _, tt := range tests {
		msgs, err := SplitNodes(tt.reqID, tt.records)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if tt.wantMsgs > 0 && len(msgs) != tt.wantMsgs {
			t.Errorf("%s: %d messages, want %d", tt.name, len(msgs), tt.wantMsgs)
		}
		var all []*enr.Record
		for i, m := range msgs {
			if int(m.Total) != len(msgs) || string(m.ReqID) != string(tt.reqID) {
				t.Errorf("%s: message %d has total %d reqID %x", tt.name, i, m.Total, m.ReqID)
			}
			pt, err := AppendMessage(nil, m)
			if err != nil {
				t.Fatalf("%s: message %d: %v", tt.name, i, err)
			}
			if len(pt) > MaxMessageSize {
				t.Errorf("%s: message %d has %d bytes", tt.name, i, len(pt))
			}
			// Greedy: the next record would not have fitted.
			if i < len(msgs)-1 {
				more := *m
				more.Records = append(m.Records[:len(m.Records):len(m.Records)], msgs[i+1].Records[0])
				if pt, _ := AppendMessage(nil, &more); len(pt) <= MaxMessageSize {
					t.Errorf("%s: message %d could hold another record", tt.name, i)
				}
			}
			all = append(all, m.Records...)
		}
		if len(all) != len(tt.records) {
			t.Fatalf("%s: %d records in messages, want %d", tt.name, len(all), len(tt.records))
		}
		for i := range all {
			if all[i] != tt.records[i] {
				t.Errorf("%s: record %d out of order", tt.name, i)
			}
		}
	}
}

func TestSplitNodesPackets(t *testing.T) {
	ht := newHandshakeTest(t)
	ht.handshake(&Ping{ReqID: []byte{1}}, nil)
	max := sizedRecord(t, enr.SizeLimit)
	records := append(testRecords(t, 5), max, max, max, max)
	msgs, err := SplitNodes([]byte{1, 2, 3, 4, 5, 6, 7, 8}, records)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		pkt, _, err := ht.b.c.Encode(ht.a.id(), ht.a.addr, m, nil)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(pkt) > MaxPacketSize {
			t.Fatalf("message %d: %d bytes", i, len(pkt))
		}
		_, _, p, err := ht.a.c.Decode(pkt, ht.b.addr)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		checkNodesEqual(t, p.(*Nodes), m)
	}
}

func TestSplitNodesErrors(t *testing.T) {
	unsigned := new(enr.Record)
	if _, err := SplitNodes(make([]byte, 9), nil); !errors.Is(err, ErrReqIDTooLarge) {
		t.Errorf("long request ID: %v", err)
	}
	if _, err := SplitNodes(nil, []*enr.Record{unsigned}); !errors.Is(err, ErrUnencodable) {
		t.Errorf("unsigned record: %v", err)
	}
	// 256 messages of three 300-byte records are too many for total.
	max := sizedRecord(t, enr.SizeLimit)
	many := make([]*enr.Record, 3*255+1)
	for i := range many {
		many[i] = max
	}
	if _, err := SplitNodes(nil, many); !errors.Is(err, ErrPacketTooBig) {
		t.Errorf("%d records: %v", len(many), err)
	}
	if msgs, err := SplitNodes(nil, many[:3*255]); err != nil || len(msgs) != 255 {
		t.Errorf("%d records: %d messages, %v", 3*255, len(msgs), err)
	}
}
