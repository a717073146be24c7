package score

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/op"
	"millrace/reload"
)

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// xs is a batch of one float64 column x.
func xs(vals ...float64) arrow.RecordBatch {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vals, nil)
	b.AppendNull()
	col := b.NewArray()
	defer col.Release()
	s := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	return array.NewRecordBatch(s, []arrow.Array{col}, int64(col.Len()))
}

// place copies testdata/name to path through a rename, as a deployment replaces a file.
func place(t *testing.T, name, path string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// scores runs one batch of x = 5, 10, 20 and a null through s and returns the scores.
func scores(t *testing.T, s *Scorer) []float64 {
	t.Helper()
	var got collect
	if err := s.Process(0, xs(5, 10, 20), &got); err != nil {
		t.Fatal(err)
	}
	defer got.release()
	return got[0].Column(1).(*array.Float64).Float64Values()
}

// want is what the one-split models of testdata score for x = 5, 10, 20 and null: a leaf of
// -v for x <= 10 (LightGBM's test) and for a missing x, +v above, through the sigmoid.
func want(v float64) []float64 {
	return []float64{sigmoid(-v), sigmoid(-v), sigmoid(v), sigmoid(-v)}
}

func near(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-12 {
			return false
		}
	}
	return true
}

func newTiny(t *testing.T, path string, checkpointing bool) (*Scorer, *reload.Status) {
	t.Helper()
	in := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	out := arrow.NewSchema(append(in.Fields(), arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64}), nil)
	st := &reload.Status{Path: path, What: "model"}
	s, err := NewScorer(Config{Path: path, Kind: LightGBM, Features: columns(t, in, "x"), Out: out, Status: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(op.Context{Checkpointing: checkpointing}); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// TestModelReloadsBeforeABatch checks that without checkpoints a new model file scores the
// next batch, and that a bad one keeps the model in use and says why.
func TestModelReloadsBeforeABatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.lgb")
	place(t, "step1.lgb", path)
	s, st := newTiny(t, path, false)
	if got := scores(t, s); !near(got, want(1)) {
		t.Fatalf("first model scores %v, want %v", got, want(1))
	}
	place(t, "step2.lgb", path)
	if got := scores(t, s); !near(got, want(2)) {
		t.Fatalf("after the file changed, scores %v, want %v", got, want(2))
	}
	if st.Reloads() != 1 || st.Version() != s.Version() {
		t.Fatalf("reloads %d, version %s (scorer's %s)", st.Reloads(), st.Version(), s.Version())
	}
	if err := os.WriteFile(path, []byte("tree\nversion=v2\nnot a model\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := scores(t, s); !near(got, want(2)) {
		t.Fatalf("after a bad file, scores %v, want the last good model's %v", got, want(2))
	}
	if st.Failures() != 1 || !strings.Contains(st.LastError(), "still using version "+s.Version()) {
		t.Fatalf("failures %d, last error %q", st.Failures(), st.LastError())
	}
	scores(t, s) // the same bad file is reported once
	if st.Failures() != 1 {
		t.Fatalf("the same bad file counted %d times", st.Failures())
	}
	place(t, "step1.lgb", path)
	if got := scores(t, s); !near(got, want(1)) || st.LastError() != "" || st.Reloads() != 2 {
		t.Fatalf("after a good file again, scores %v, reloads %d, last error %q", got, st.Reloads(), st.LastError())
	}
}

// TestModelReloadsAtCheckpoints checks that with checkpoints a new model file takes effect
// at the next checkpoint, whose snapshot names its version, and that a restore from a
// checkpoint of another version goes on with the file as it is.
func TestModelReloadsAtCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.lgb")
	place(t, "step1.lgb", path)
	s, _ := newTiny(t, path, true)
	first, err := s.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	place(t, "step2.lgb", path)
	if got := scores(t, s); !near(got, want(1)) {
		t.Fatalf("between checkpoints, scores %v, want the old model's %v", got, want(1))
	}
	second, err := s.Snapshot(2)
	if err != nil {
		t.Fatal(err)
	}
	if got := scores(t, s); !near(got, want(2)) {
		t.Fatalf("after the checkpoint, scores %v, want the new model's %v", got, want(2))
	}
	if string(first) == string(second) {
		t.Fatal("the checkpoints before and after the change name the same version")
	}
	r, _ := newTiny(t, path, true)
	if err := r.Restore(first); err != nil {
		t.Fatal(err)
	}
	if got := scores(t, r); !near(got, want(2)) {
		t.Fatalf("restored, scores %v, want the file's model %v", got, want(2))
	}
	moved, err := s.Rescale([][]byte{nil, second}, 3, nil)
	if err != nil || len(moved) != 3 || string(moved[2]) != string(second) {
		t.Fatalf("rescale: %v", err)
	}
}
