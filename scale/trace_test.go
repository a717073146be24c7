package scale

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the example traces under examples/traces from their generators")

// TestShippedTracesMatchTheirGenerators keeps examples/traces rebuildable: run
// `go test ./scale -run TestShippedTraces -update` to write them again.
func TestShippedTracesMatchTheirGenerators(t *testing.T) {
	for name, gen := range map[string]func() []Point{
		"week-nightly-surge.csv": WeekWithNightlySurge,
		"month-end.csv":          MonthEnd,
	} {
		var want bytes.Buffer
		if err := WriteTrace(&want, gen()); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "examples", "traces", name)
		if *update {
			if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from its generator; rebuild it with -update", name)
		}
		pts, err := ReadTraceFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) != len(gen()) {
			t.Errorf("%s: read %d points, generated %d", name, len(pts), len(gen()))
		}
	}
}

func TestWeekTraceHasANightlySurge(t *testing.T) {
	pts := WeekWithNightlySurge()
	if len(pts) != 7*24*60 || TraceStep(pts) != time.Minute {
		t.Fatalf("%d points at %v", len(pts), TraceStep(pts))
	}
	for day := range 7 {
		before := pts[day*1440+2*60+50].Rate // 02:50
		during := pts[day*1440+3*60+10].Rate // 03:10
		if during < 4*before {
			t.Errorf("day %d: 03:10 at %.0f/s is not several times 02:50 at %.0f/s", day, during, before)
		}
	}
}

func TestReadTrace(t *testing.T) {
	good := "# a comment\ntime,rate\n2024-01-01T00:00:00Z,10\n\n2024-01-01T00:01:00Z,12.5\n2024-01-01T00:02:00Z,0\n"
	pts, err := ReadTrace(strings.NewReader(good), "good.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 || pts[1].Rate != 12.5 || TraceStep(pts) != time.Minute {
		t.Errorf("points %v", pts)
	}
	epoch := "time, rate\n1704067200,10\n1704067260,20\n"
	pts, err = ReadTrace(strings.NewReader(epoch), "epoch.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !pts[0].Time.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("epoch seconds read as %v", pts[0].Time)
	}

	for _, c := range []struct{ in, want string }{
		{"", "t.csv: empty trace"},
		{"when,load\n", "t.csv:1: header \"when,load\", want time,rate"},
		{"time,rate\n2024-01-01T00:00:00Z,1\n", "t.csv: 1 rows, want at least 2"},
		{"time,rate\n2024-01-01T00:00:00Z,1\nyesterday,2\n", "t.csv:3: time: \"yesterday\" is neither RFC 3339 nor epoch seconds"},
		{"time,rate\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,-2\n", "t.csv:3: rate \"-2\" is not a finite number"},
		{"time,rate\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,NaN\n", "t.csv:3: rate \"NaN\""},
		{"time,rate\n2024-01-01T00:00:00Z,1,2\n", "t.csv:2: 3 fields"},
		{"time,rate\n2024-01-01T00:01:00Z,1\n2024-01-01T00:00:00Z,1\n", "t.csv:3: time 2024-01-01T00:00:00Z is not after the row before"},
		{"time,rate\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,1\n2024-01-01T00:03:00Z,1\n",
			"t.csv:4: time 2024-01-01T00:03:00Z is 2m0s after the row before, but the trace's step is 1m0s (irregular traces are not resampled)"},
	} {
		_, err := ReadTrace(strings.NewReader(c.in), "t.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadTrace(%q): error %v, want %q", c.in, err, c.want)
		}
	}
}
