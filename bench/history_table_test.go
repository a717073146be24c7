package bench

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestCompareDigests(t *testing.T) {
	duck := map[string]string{"rows": "100", "spend": "12.5", "cards": "1000", "ts": "1704067200010"}
	cases := []struct {
		name     string
		millrace map[string]string
		want     []string
	}{
		{"equal", map[string]string{"rows": "100", "spend": "12.5", "cards": "1000", "ts": "1704067200010"}, nil},
		{"approximate field within tolerance", map[string]string{"rows": "100", "spend": "12.5", "cards": "1019", "ts": "1704067200010"}, nil},
		{"approximate field beyond tolerance", map[string]string{"rows": "100", "spend": "12.5", "cards": "1021", "ts": "1704067200010"},
			[]string{"cards: millrace 1021, DuckDB 1000"}},
		{"exact field off by a cent", map[string]string{"rows": "100", "spend": "12.51", "cards": "1000", "ts": "1704067200010"},
			[]string{"spend: millrace 12.51, DuckDB 12.5"}},
		{"field missing", map[string]string{"rows": "100", "spend": "12.5", "cards": "1000", "extra": "1"},
			[]string{"extra: millrace 1, DuckDB (missing)", "ts: millrace (missing), DuckDB 1704067200010"}},
	}
	for _, c := range cases {
		if got := CompareDigests(c.millrace, duck, []string{"cards"}); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	// Only the fields named approximate get a tolerance.
	if got := CompareDigests(map[string]string{"cards": "1001"}, map[string]string{"cards": "1000"}, nil); len(got) != 1 {
		t.Errorf("an exact field within 2%% agreed: %q", got)
	}
}

func TestHistoryTableShowsRatiosAndDisagreements(t *testing.T) {
	rs := []HistoryResult{
		{What: "scan 10 rows", Millrace: Side{Seconds: 2, CPUSeconds: 3, PeakRSS: 300 << 20}, DuckDB: Side{Seconds: 1, CPUSeconds: 2, PeakRSS: 100 << 20}},
		{What: "windows over 10 rows", Millrace: Side{Seconds: 1, CPUSeconds: 1.5, PeakRSS: 50 << 20}, DuckDB: Side{Seconds: 4, CPUSeconds: 6, PeakRSS: 100 << 20},
			Differ: []string{"windows: millrace 9, DuckDB 10"}},
	}
	var b bytes.Buffer
	if err := WriteHistoryTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header, a rule and two rows:\n%s", b.String())
	}
	for i, want := range [][]string{
		{"scan 10 rows", "2.00 s (3.00 s CPU), 300 MiB", "1.00 s (2.00 s CPU), 100 MiB", "| 2.00", "| 1.50", "| 3.00", "| yes"},
		{"windows over 10 rows", "| 0.25", "| 0.25", "| 0.50", "NO: windows: millrace 9, DuckDB 10"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[2+i], w) {
				t.Errorf("row %d lacks %q: %s", i, w, lines[2+i])
			}
		}
	}
}

func TestGrouped(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 20_000: "20,000", 10_000_000: "10,000,000", -1234: "-1,234", -123: "-123"} {
		if got := grouped(n); got != want {
			t.Errorf("grouped(%d) = %q, want %q", n, got, want)
		}
	}
}
