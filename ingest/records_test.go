package ingest

import (
	"reflect"
	"strings"
	"testing"

	"millrace/schema"
)

func TestSplitNDJSONAndArrays(t *testing.T) {
	for body, want := range map[string][]string{
		"{\"a\":1}\n\n{\"a\":2}\r\n  \n{\"a\":3}":  {`{"a":1}`, `{"a":2}`, `{"a":3}`},
		"not json\n{\"a\":1}\n":                    {"not json", `{"a":1}`},
		"  [ {\"a\": 1},\n {\"a\" : [2, 3]}, 4 ] ": {`{"a":1}`, `{"a":[2,3]}`, "4"},
		"[]": nil,
		"":   nil,
	} {
		got, err := split([]byte(body))
		if err != nil {
			t.Errorf("%q: %v", body, err)
			continue
		}
		var lines []string
		for _, r := range got {
			lines = append(lines, string(r))
		}
		if !reflect.DeepEqual(lines, want) {
			t.Errorf("%q: records %q, want %q", body, lines, want)
		}
	}
	for body, want := range map[string]string{
		`[{"a":1}, {"a":`:   "JSON array: element 1: unexpected EOF",
		`[{"a":1} {"a":2}]`: "JSON array: element 1: expected comma after array element",
		`[{"a":1}] x`:       "JSON array: something follows the closing ]",
	} {
		if _, err := split([]byte(body)); err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
}

func TestCheckNamesEachRefusedRecord(t *testing.T) {
	s, err := schema.Builtin("transaction")
	if err != nil {
		t.Fatal(err)
	}
	good := `{"tx_id":"t1","ts":"2026-03-01T12:00:00Z","account_id":"a","card_id":"c","merchant_id":"m","mcc":5411,"amount":"12.50","currency":"EUR","country":"DE","channel":"pos"}`
	recs := [][]byte{[]byte(good), []byte(`{"tx_id":"t2"`), []byte(strings.Replace(good, `"12.50"`, `"12,50 EUR"`, 1)), []byte(good)}
	bad, err := check(recs, s, "POST /ingest/tx")
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 2 || bad[0].Index != 1 || bad[1].Index != 2 || !strings.Contains(bad[1].Reason, "amount") {
		t.Errorf("refused %+v, want records 1 and 2, the second for its amount", bad)
	}
}
