package gen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"millrace/format"
	"millrace/schema"
)

func TestCorruptKindsTable(t *testing.T) {
	names := map[string]bool{}
	for _, c := range corruptKinds {
		if names[c.name] || (!c.jsonl && !c.csv) || c.apply == nil {
			t.Errorf("corruption %q is a duplicate or applies to nothing", c.name)
		}
		names[c.name] = true
	}
	j, c := CorruptKinds(format.JSONL), CorruptKinds(format.CSV)
	if !slices.Contains(j, "missing_field") || slices.Contains(j, "csv_field_count") || len(j) < 10 {
		t.Errorf("JSONL corruptions %v", j)
	}
	if slices.Contains(c, "missing_field") || !slices.Contains(c, "csv_unterminated_quote") || len(c) < 10 {
		t.Errorf("CSV corruptions %v", c)
	}
	if p := CorruptKinds(format.Parquet); len(p) != 0 {
		t.Errorf("Parquet corruptions %v", p)
	}
	if _, err := CorruptRecord(nil, []byte("{}\n"), format.JSONL, "no_such", 1); err == nil {
		t.Error("unknown corruption accepted")
	}
	if _, err := CorruptRecord(nil, []byte("a,b\n"), format.CSV, "missing_field", 1); err == nil {
		t.Error("a JSONL-only corruption accepted for CSV")
	}
}

// encodedSample returns the header and lines of generated records in a text format, with
// fraud, so values of every channel and currency occur.
func encodedSample(t *testing.T, kind format.Kind, n int) (arrow.RecordBatch, []byte, [][]byte) {
	t.Helper()
	cfg := smallConfig()
	cfg.FraudRate = 0.2
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := g.Next(context.Background(), nil, n)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := format.NewRowEncoder(kind, schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = enc.AppendRow(nil, rec, i)
	}
	return rec, enc.Header(), lines
}

// decode reads a text input with format's reader and returns its batches and dead letters.
func decode(t *testing.T, kind format.Kind, input []byte) ([]arrow.RecordBatch, []format.DeadLetter) {
	t.Helper()
	var r format.Reader
	var err error
	opts := format.ReadOptions{BatchRows: 4096}
	if kind == format.JSONL {
		r, err = format.NewJSONLReader(bytes.NewReader(input), "test."+string(kind), schema.Transaction(), opts)
	} else {
		r, err = format.NewCSVReader(bytes.NewReader(input), "test."+string(kind), schema.Transaction(), opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []arrow.RecordBatch
	var dead []format.DeadLetter
	for {
		rec, d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, dead
		}
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, d...)
		if rec != nil {
			recs = append(recs, rec)
		}
	}
}

// decodeRows is decode returning the rows read.
func decodeRows(t *testing.T, kind format.Kind, input []byte) ([]txRow, []format.DeadLetter) {
	t.Helper()
	recs, dead := decode(t, kind, input)
	var rows []txRow
	for _, rec := range recs {
		rows = readRows(t, rec, rows)
		rec.Release()
	}
	return rows, dead
}

// Every corruption of every record makes format's decoder refuse that record alone, with a
// reason, and leaves the records around it intact.
func TestCorruptRecordsRejected(t *testing.T) {
	for _, kind := range []format.Kind{format.JSONL, format.CSV} {
		t.Run(string(kind), func(t *testing.T) {
			rec, header, lines := encodedSample(t, kind, 60)
			defer rec.Release()
			wantLine := int64(2) // the corrupt record follows one good one, and the CSV header
			if kind == format.CSV {
				wantLine = 3
			}
			for _, name := range CorruptKinds(kind) {
				reasons := map[string]int{}
				for i := 1; i+1 < len(lines); i++ {
					bad, err := CorruptRecord(nil, lines[i], kind, name, int64(i))
					if err != nil {
						t.Fatal(err)
					}
					if bytes.Equal(bad, lines[i]) || bytes.Count(bad, []byte("\n")) != 1 || bad[len(bad)-1] != '\n' || len(bytes.TrimSpace(bad)) == 0 {
						t.Fatalf("%s: %q became %q", name, lines[i], bad)
					}
					input := slices.Concat(header, lines[i-1], bad, lines[i+1])
					recs, dead := decode(t, kind, input)
					if len(dead) != 1 || dead[0].Reason == "" || dead[0].Line != wantLine {
						t.Fatalf("%s: %q: dead letters %v, want the corrupt line alone", name, bad, dead)
					}
					if !bytes.Equal(dead[0].Raw, bytes.TrimSuffix(bad, []byte("\n"))) {
						t.Fatalf("%s: dead letter holds %q, want %q", name, dead[0].Raw, bad)
					}
					if len(recs) != 1 || recs[0].NumRows() != 2 {
						t.Fatalf("%s: the records around the corrupt one did not survive: %v", name, recs)
					}
					got := recs[0]
					want := [2]arrow.RecordBatch{rec.NewSlice(int64(i-1), int64(i)), rec.NewSlice(int64(i+1), int64(i+2))}
					for k, w := range want {
						if !array.RecordEqual(got.NewSlice(int64(k), int64(k+1)), w) {
							t.Fatalf("%s: neighbour %d decoded differently", name, k)
						}
						w.Release()
					}
					got.Release()
					reasons[dead[0].Reason[:min(len(dead[0].Reason), 40)]]++
				}
				t.Logf("%-24s %v", name, keys(reasons))
			}
		})
	}
}

func keys(m map[string]int) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	if len(k) > 3 {
		k = append(k[:3], "...")
	}
	return k
}

func TestCorruptorRate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CorruptRate = 0.1
	c := newCorruptor(cfg, format.CSV)
	line := []byte("t1,2024-01-01T00:00:00.000Z,a1,c1,m1,5411,12.50,EUR,DE,pos,1,2,false\n")
	var buf []byte
	for range 100_000 {
		start := len(buf)
		buf = c.maybe(append(buf, line...), start)
	}
	by, total := c.stats()
	if total < 9500 || total > 10500 {
		t.Errorf("%d of 100000 records corrupted at rate 0.1", total)
	}
	var sum int64
	for name, n := range by {
		sum += n
		if n < total/int64(len(c.kinds))/2 {
			t.Errorf("corruption %s used %d times of %d", name, n, total)
		}
	}
	if sum != total || len(by) != len(CorruptKinds(format.CSV)) {
		t.Errorf("counts %v, total %d", by, total)
	}
	if lines := strings.Count(string(buf), "\n"); lines != 100_000 {
		t.Errorf("%d lines out of 100000 records", lines)
	}
}
