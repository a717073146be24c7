package format

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestInferTextSchemas infers the columns of JSONL and CSV files from their first records and
// reads the files back with what it inferred, every record a row.
func TestInferTextSchemas(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, text string
		records    int
		want       string
	}{
		{"a.csv", "id,ts,amount,n,ok,day,x,note\n" +
			"a,2026-03-02 00:00:01.494,12.50,7,true,2026-03-02,1e3,\n" +
			"b,2026-03-02T00:00:02Z,-0.125,-8,FALSE,2026-03-03,2.5,hi\n" +
			"c,,3,9000000000,,,,\n", 3,
			"id: utf8, ts: timestamp[ms, tz=UTC], amount: decimal(18, 3), n: int64, ok: bool, day: date32, x: float64, note: utf8"},
		{"b.jsonl", `{"id":"a","ts":"2026-03-02 00:00:01.494","amount":12.5,"n":7,"ok":true,"tags":[1],"day":"2026-03-02"}` + "\n" +
			`{"id":"b","amount":-1,"n":null,"ok":false,"late":"x","day":"2026-03-03","ts":"2026-03-02T00:00:02+01:00"}` + "\n" +
			"\n" + `not json` + "\n", 3,
			"id: utf8, ts: timestamp[ms, tz=UTC], amount: decimal(18, 1), n: int64, ok: bool, tags: utf8, day: date32, late: utf8"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		inf, err := Infer(path, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := fieldsOf(inf.Schema); got != c.want || inf.Records != c.records {
			t.Errorf("%s: inferred from %d records\n %s\nwant from %d\n %s", c.name, inf.Records, got, c.records, c.want)
		}
	}
	// The CSV file reads back whole with its inferred schema.
	path := filepath.Join(dir, "a.csv")
	inf, _ := Infer(path, "", 100)
	r, err := Open(path, "", inf.Schema, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, dead := readAll(t, r)
	if rec.NumRows() != 3 || len(dead) != 0 {
		t.Errorf("read back %d rows and %v", rec.NumRows(), dead)
	}
	rec.Release()
}

func fieldsOf(s *arrow.Schema) string {
	out := ""
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name + ": " + f.Type.String()
	}
	return out
}
