package score

import (
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/expr"
	"millrace/format"
	"millrace/op"
)

const models = "../examples/models"

// expected reads the sample tools/train/train.py wrote beside the shipped model, its
// features as millrace wrote them to the training set and XGBoost's own score, and the
// names of the model's features.
func expected(t testing.TB) (arrow.RecordBatch, []string) {
	t.Helper()
	path := filepath.Join(models, "fraud-expected.csv")
	inf, err := format.Infer(path, format.CSV, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := format.OpenAll(path, format.CSV, inf.Schema, format.ReadOptions{FailOnDamage: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var recs []arrow.RecordBatch
	for {
		rec, _, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 1 {
		t.Fatalf("the sample came in %d batches; want 1", len(recs))
	}
	names, err := os.ReadFile(filepath.Join(models, "fraud.features"))
	if err != nil {
		t.Fatal(err)
	}
	return recs[0], strings.Fields(string(names))
}

// columns compiles each name as a feature over s.
func columns(t testing.TB, s *arrow.Schema, names ...string) []op.Evaluator {
	t.Helper()
	out := make([]op.Evaluator, len(names))
	for i, n := range names {
		e, err := expr.CompileString(n, s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

// TestScoresEqualXGBoost scores the sample with the shipped model and compares every score
// with the one XGBoost computed when it trained the model, to 1e-6.
func TestScoresEqualXGBoost(t *testing.T) {
	rec, names := expected(t)
	defer rec.Release()
	feats := columns(t, rec.Schema(), names...)
	out := arrow.NewSchema(append(rec.Schema().Fields(), arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float64}), nil)
	s, err := NewScorer(Config{Path: filepath.Join(models, "fraud.xgb"), Kind: XGBoost, Features: feats, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	if err := s.Open(op.Context{Mem: mem}); err != nil {
		t.Fatal(err)
	}
	rec.Retain()
	var got collect
	if err := s.Process(0, rec, &got); err != nil {
		t.Fatal(err)
	}
	defer got.release()
	if len(got) != 1 || got[0].NumRows() != rec.NumRows() {
		t.Fatalf("scored %d batches; want one of %d rows", len(got), rec.NumRows())
	}
	last := int(rec.NumCols()) - 1
	want := rec.Column(last).(*array.Float64)
	score := got[0].Column(last + 1).(*array.Float64)
	worst, fraudHigh := 0.0, 0
	for i := range want.Len() {
		d := math.Abs(score.Value(i) - want.Value(i))
		worst = max(worst, d)
		if d > 1e-6 {
			t.Errorf("row %d (%s): millrace scores %.9g, XGBoost %.9g", i, rec.Column(0).(*array.String).Value(i), score.Value(i), want.Value(i))
		}
		if rec.Column(last-1).(*array.Boolean).Value(i) && score.Value(i) > 0.5 {
			fraudHigh++
		}
	}
	if fraudHigh == 0 {
		t.Error("no fraud row of the sample scores above 0.5: the sample does not reach the upper end of the scores")
	}
	t.Logf("%d rows, largest difference %.3g", want.Len(), worst)
}

type collect []arrow.RecordBatch

func (c *collect) Collect(rec arrow.RecordBatch) error { *c = append(*c, rec); return nil }

func (c collect) release() {
	for _, r := range c {
		r.Release()
	}
}

// TestParseRefuses checks the errors a model file that leaves cannot read gives.
func TestParseRefuses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(models, "fraud.xgb"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		data []byte
		kind Kind
	}{
		"json":      {[]byte(`{"learner": {}}`), XGBoost},
		"short":     {data[:100], XGBoost},
		"cut":       {data[:len(data)/2], XGBoost},
		"kind":      {data, "onnx"},
		"lightgbm":  {data, LightGBM},
		"truncated": {data[:200], XGBoost},
	} {
		if _, err := Parse(c.data, c.kind); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := Parse(data, XGBoost); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(XGBoost, 3)(data); err == nil {
		t.Error("a model of 15 features loaded for 3")
	}
	// Parse works on a copy: the bytes of a file are not changed by converting its header.
	again, err := os.ReadFile(filepath.Join(models, "fraud.xgb"))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Fatal("the file changed")
	}
}
