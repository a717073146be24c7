package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/engine/enginetest"
	"millrace/examples"
	"millrace/plan"
	"millrace/spec"
)

// resumePlan plans Nexmark query q over in at parallelism p, its stdout sink replaced by
// JSONL part files under dir, which commit with the checkpoints, and returns the plan and
// the schema of the rows the sink writes.
func resumePlan(t *testing.T, q string, in NexmarkInput, p int, dir string) (*plan.Plan, *arrow.Schema) {
	t.Helper()
	text, err := examples.Specs.ReadFile("nexmark/" + q + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	text = bytes.Replace(text, []byte("kind: stdout}"), []byte("kind: jsonl, path: "+strconv.Quote(dir)+"}"), 1)
	env := map[string]string{"NEXMARK_EVENTS": strconv.FormatInt(in.Events, 10), "NEXMARK_SEED": strconv.FormatInt(in.Seed, 10),
		"NEXMARK_RATE": strconv.FormatInt(in.Rate, 10)}
	s, err := spec.Parse(text, q+".yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Build(s, plan.Options{Parallelism: p, Partitions: 2}) // a resumed source keeps its partitions
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range pl.Steps {
		if st.Name == q {
			return pl, st.Schema()
		}
	}
	t.Fatalf("%s has no step named %s", q, q)
	return nil, nil
}

// readResumed renders the JSON lines under dir as the collector renders rows, applying a
// changelog (rows with _op) to the table it leaves.
func readResumed(t *testing.T, dir string, schema *arrow.Schema) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]int{}
	var rows []string
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		for dec.More() {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var parts []string
			for _, fd := range schema.Fields() {
				switch v := m[fd.Name].(type) {
				case nil:
					parts = append(parts, "-")
				case string:
					if fd.Type.ID() == arrow.TIMESTAMP {
						ts, err := time.Parse(time.RFC3339Nano, v)
						if err != nil {
							t.Fatalf("%s: column %s: %v", f, fd.Name, err)
						}
						v = strconv.FormatInt(ts.UnixMilli(), 10)
					}
					parts = append(parts, v)
				default:
					parts = append(parts, m[fd.Name].(json.Number).String())
				}
			}
			if schema.Field(0).Name != "_op" {
				rows = append(rows, strings.Join(parts, "|"))
				continue
			}
			switch r := strings.Join(parts[1:], "|"); parts[0] {
			case "+I", "+U":
				table[r]++
			case "-U", "-D":
				table[r]--
			}
		}
	}
	for r, n := range table {
		if n < 0 || n > 1 {
			t.Fatalf("applying the changelog leaves row %s %d times", r, n)
		}
		if n == 1 {
			rows = append(rows, r)
		}
	}
	slices.Sort(rows)
	return rows
}

// TestNexmarkQueriesResumeFromCheckpoints stops q4, q6, q9, q15 and q16 at a checkpoint
// taken by key group, resumes each at another parallelism, stops it again and finishes it at
// a third (or ends the series with a run that reads to its end before its checkpoint):
// what their JSONL sinks committed equals the reference row for row, nothing lost and
// nothing twice, so the state of the join with bounds from a column, of an aggregate of a
// changelog, of over a frame of rows, of top by two columns and of count(DISTINCT ...) with
// FILTER comes back whole.
func TestNexmarkQueriesResumeFromCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five queries in three stages each over 200,000 events")
	}
	for _, tc := range []struct {
		q  string
		in NexmarkInput
	}{
		{"q4", NexmarkInput{Events: 200_000, Seed: 3, Rate: 500}},
		{"q6", NexmarkInput{Events: 200_000, Seed: 3, Rate: 500}},
		{"q9", NexmarkInput{Events: 200_000, Seed: 3, Rate: 500}},
		{"q15", NexmarkInput{Events: 200_000, Seed: 3, Rate: 1}},
		{"q16", NexmarkInput{Events: 200_000, Seed: 3, Rate: 1}},
	} {
		want := nexmarkReferences[tc.q](t, generateNexmark(t, tc.in))
		slices.Sort(want)
		dir := filepath.Join(t.TempDir(), "out")
		var schema *arrow.Schema
		resumed := t.Run(tc.q, func(t *testing.T) {
			stages := []enginetest.Stage{{P: 3, ByGroup: true}, {P: 5, ByGroup: false}, {P: 1, ByGroup: false}}
			enginetest.RunResumed(t, stages, func(p int) *engine.Graph {
				var pl *plan.Plan
				pl, schema = resumePlan(t, tc.q, tc.in, p, dir)
				return pl.Graph
			})
		})
		if !resumed {
			continue
		}
		if got := readResumed(t, dir, schema); !slices.Equal(got, want) {
			t.Fatalf("%s: %d rows, want %d; %s", tc.q, len(got), len(want), firstRowDifference(got, want))
		}
	}
}
