package exchange

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/engine"
	"millrace/schema"
)

func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// TestEncodePutsEveryRowInItsKeyGroup encodes generated transactions keyed by card and
// decodes every record: each row is in the partition of its key group as engine.HashRows
// and engine.KeyGroup compute it, each group's rows keep their order, none is lost, and
// every record names its unit.
func TestEncodePutsEveryRowInItsKeyGroup(t *testing.T) {
	in := transactions(t, 3, 5000, 5000)[0]
	key := cardKey(t)
	hashes := make([]uint64, in.NumRows())
	if err := engine.HashRows(in, key, hashes); err != nil {
		t.Fatal(err)
	}
	want := map[int32][]string{}
	for i, line := range rowLines(t, in) {
		g := int32(engine.KeyGroup(hashes[i], KeyGroups))
		want[g] = append(want[g], line)
	}

	recs, err := Encode(in, key, KeyGroups, testTopic, "tx/3")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records for %d key groups present", len(recs), len(want))
	}
	dec, err := newDecoder(schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	for i, r := range recs {
		if i > 0 && r.Partition <= recs[i-1].Partition {
			t.Fatalf("record %d is for partition %d after %d: want one per key group, in order", i, r.Partition, recs[i-1].Partition)
		}
		if from, _ := header(r, HeaderFrom); r.Topic != testTopic || from != "tx/3" {
			t.Fatalf("record %d: topic %q, from %q", i, r.Topic, from)
		}
		print, _ := header(r, HeaderSchema)
		got, err := dec.decode(print, r.Value)
		if err != nil {
			t.Fatalf("decode the record of partition %d: %v", r.Partition, err)
		}
		gh := make([]uint64, got.NumRows())
		if err := engine.HashRows(got, key, gh); err != nil {
			t.Fatal(err)
		}
		for row, h := range gh {
			if g := engine.KeyGroup(h, KeyGroups); g != int(r.Partition) {
				t.Fatalf("partition %d holds row %d of key group %d", r.Partition, row, g)
			}
		}
		if lines := rowLines(t, got); !slices.Equal(lines, want[r.Partition]) {
			t.Fatalf("partition %d: %d rows, want %d in their order in the batch", r.Partition, len(lines), len(want[r.Partition]))
		}
		got.Release()
	}
}

// TestMarkersGoToEveryPartition checks a unit's markers: one per key group, each naming the
// unit and the watermark, the final one included.
func TestMarkersGoToEveryPartition(t *testing.T) {
	for _, wm := range []int64{1733500800000, math.MaxInt64, -5} {
		ms := Markers(testTopic, KeyGroups, "tx/0", wm)
		if len(ms) != KeyGroups {
			t.Fatalf("%d markers for %d key groups", len(ms), KeyGroups)
		}
		for g, m := range ms {
			from, _ := header(m, HeaderFrom)
			v, ok := header(m, HeaderWatermark)
			if m.Partition != int32(g) || m.Topic != testTopic || from != "tx/0" || !ok || len(m.Value) != 0 {
				t.Fatalf("marker %d: partition %d, topic %q, from %q, watermark %q, value %q", g, m.Partition, m.Topic, from, v, m.Value)
			}
			w := newWatermarks([]string{"tx/0"}, nil)
			r := &reader{wms: w}
			if _, err := r.take(m); err != nil || r.Watermark() != wm {
				t.Fatalf("marker %d read back as watermark %d (%v), want %d", g, r.Watermark(), err, wm)
			}
		}
	}
}

// TestDecodeRefusesWhatItCannotRead gives the decoder a record of another schema, values
// that are no IPC record batch, and a schema the exchange cannot carry; each is an error
// saying why, and the decoder reads good records after them.
func TestDecodeRefusesWhatItCannotRead(t *testing.T) {
	in := transactions(t, 4, 300, 300)[0]
	recs, err := Encode(in, cardKey(t), KeyGroups, testTopic, "tx/0")
	if err != nil {
		t.Fatal(err)
	}
	good := recs[0]
	print, _ := header(good, HeaderSchema)
	dec, err := newDecoder(schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()

	other := arrow.NewSchema([]arrow.Field{{Name: "card_id", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, other)
	b.Field(0).(*array.StringBuilder).Append("c1")
	small := b.NewRecordBatch()
	b.Release()
	defer small.Release()
	foreign, err := Encode(small, []int{0}, KeyGroups, testTopic, "tx/0")
	if err != nil {
		t.Fatal(err)
	}
	foreignPrint, _ := header(foreign[0], HeaderSchema)

	cases := []struct {
		name, print string
		value       []byte
		want        string
	}{
		{"another schema", foreignPrint, foreign[0].Value, "written with schema " + foreignPrint},
		{"no schema header", "", good.Value, "written with schema (none)"},
		{"not IPC", print, []byte("{\"card_id\":\"c1\"}"), "not an Arrow IPC message"},
		{"cut short", print, good.Value[:len(good.Value)/2], "announces"},
		{"a schema message", print, dec.schemaMsg, "Schema message, not a record batch"},
		{"another schema's batch under this fingerprint", print, foreign[0].Value, "decode the record batch"},
	}
	for _, c := range cases {
		got, err := dec.decode(c.print, c.value)
		if err == nil {
			got.Release()
			t.Errorf("%s: decoded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
		rec, err := dec.decode(print, good.Value)
		if err != nil {
			t.Fatalf("after %s, a good record: %v", c.name, err)
		}
		rec.Release()
	}

	dict := arrow.NewSchema([]arrow.Field{{Name: "country", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}}}, nil)
	if _, err := newDecoder(dict); err == nil || !strings.Contains(err.Error(), `column "country" is dictionary-encoded`) {
		t.Errorf("a dictionary column: %v", err)
	}
}

func TestTopicNames(t *testing.T) {
	if got, err := Topic("card-velocity", "velocity"); err != nil || got != "millrace.card-velocity.velocity" {
		t.Errorf("Topic: %q, %v", got, err)
	}
	for _, bad := range [][2]string{{"", "v"}, {"p", ""}, {"card velocity", "v"}, {"p", "vélo"}, {strings.Repeat("p", 240), "v"}} {
		if got, err := Topic(bad[0], bad[1]); err == nil {
			t.Errorf("Topic(%q, %q) = %q", bad[0], bad[1], got)
		}
	}
}
