package score

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/op"
	"millrace/reload"
)

// Config says what a Scorer computes.
type Config struct {
	// Path and Kind name the model file, read at Open and reloaded when it changes.
	Path string
	Kind Kind
	// Features are the model's inputs in the model's order, computed from each batch.
	// Their values are numbers, booleans (1 or 0) or timestamps (milliseconds); a null is
	// missing.
	Features []op.Evaluator
	// Out is the output schema: the input's columns followed by the score, float64.
	Out *arrow.Schema
	// Status is shared by the subtasks of one step; nil makes one of the Scorer's own.
	Status *reload.Status
	// Tap, when set, sees every batch scored, from every subtask of the step.
	Tap Tap
}

// Tap sees what a Scorer scored, batch by batch: the input rows and their scores. It must
// not keep rec or scores, and it is called by every subtask of the step, concurrently.
type Tap interface {
	Scored(rec arrow.RecordBatch, scores *array.Float64)
}

// Scorer appends a model's score to every row. It reloads the model when its file changes,
// as package reload describes: before each batch when the run takes no checkpoints, at each
// checkpoint when it does; its snapshot names the model version in use.
type Scorer struct {
	op.Base
	cfg   Config
	model *reload.File[*Model]
	ctx   op.Context
	vals  []float64 // row-major features of a batch, reused
}

// LoadModel reads a model from the bytes of its file; it is the loader a Scorer reloads with.
func LoadModel(kind Kind, features int) reload.Loader[*Model] {
	return func(data []byte) (*Model, error) {
		m, err := Parse(data, kind)
		if err != nil {
			return nil, err
		}
		if m.Features() > features {
			return nil, fmt.Errorf("the model reads %d features, but %d are given", m.Features(), features)
		}
		return m, nil
	}
}

// NewScorer loads the model of cfg; an unreadable or unfit model is an error.
func NewScorer(cfg Config) (*Scorer, error) {
	if cfg.Status == nil {
		cfg.Status = &reload.Status{Path: cfg.Path, What: "model"}
	}
	f, err := reload.Open(cfg.Path, cfg.Status, false, LoadModel(cfg.Kind, len(cfg.Features)))
	if err != nil {
		return nil, err
	}
	return &Scorer{cfg: cfg, model: f}, nil
}

// Clone returns a Scorer for another subtask, with the model s uses and the same status.
func (s *Scorer) Clone() *Scorer { return &Scorer{cfg: s.cfg, model: s.model.Clone()} }

// Open keeps the context and logs reloads to its logger.
func (s *Scorer) Open(ctx op.Context) error {
	s.ctx = ctx
	if ctx.Log != nil {
		s.model.SetLogger(ctx.Log.With("node", ctx.Node, "subtask", ctx.Subtask))
	}
	return nil
}

// Version is the version of the model in use.
func (s *Scorer) Version() string { return s.model.Version() }

// Process scores rec.
func (s *Scorer) Process(_ int, rec arrow.RecordBatch, out op.Collector) error {
	defer rec.Release()
	if !s.ctx.Checkpointing {
		s.model.Poll()
	}
	scores, err := s.Score(rec)
	if err != nil {
		return err
	}
	if s.cfg.Tap != nil {
		s.cfg.Tap.Scored(rec, scores)
	}
	cols := make([]arrow.Array, 0, rec.NumCols()+1)
	cols = append(cols, rec.Columns()...)
	cols = append(cols, scores)
	res := array.NewRecordBatch(s.cfg.Out, cols, rec.NumRows())
	scores.Release()
	return out.Collect(res)
}

// Score returns the model's score of every row of rec; the caller releases it.
func (s *Scorer) Score(rec arrow.RecordBatch) (*array.Float64, error) {
	n, k := int(rec.NumRows()), len(s.cfg.Features)
	if cap(s.vals) < n*k {
		s.vals = make([]float64, n*k)
	}
	vals := s.vals[:n*k]
	for j, e := range s.cfg.Features {
		col, err := e.Eval(rec)
		if err != nil {
			return nil, fmt.Errorf("score feature %d: %w", j+1, err)
		}
		err = fill(vals, j, k, col)
		col.Release()
		if err != nil {
			return nil, fmt.Errorf("score feature %d: %w", j+1, err)
		}
	}
	mem := s.ctx.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.Resize(n)
	pred := make([]float64, n)
	if err := s.model.Value().Predict(vals, n, k, pred); err != nil {
		return nil, fmt.Errorf("score with model %s version %s: %w", s.cfg.Path, s.model.Version(), err)
	}
	b.AppendValues(pred, nil)
	return b.NewFloat64Array(), nil
}

// fill writes column col as feature j of k into the row-major vals, each value rounded to
// float32 as XGBoost reads it; nulls become NaN, the missing value.
func fill(vals []float64, j, k int, col arrow.Array) error {
	set := func(i int, v float64) { vals[i*k+j] = float64(float32(v)) }
	n := col.Len()
	switch c := col.(type) {
	case *array.Float64:
		for i, v := range c.Float64Values() {
			set(i, v)
		}
	case *array.Float32:
		for i, v := range c.Float32Values() {
			set(i, float64(v))
		}
	case *array.Int64:
		for i, v := range c.Int64Values() {
			set(i, float64(v))
		}
	case *array.Int32:
		for i, v := range c.Int32Values() {
			set(i, float64(v))
		}
	case *array.Boolean:
		for i := range n {
			v := 0.0
			if c.Value(i) {
				v = 1
			}
			set(i, v)
		}
	case *array.Decimal128:
		scale := c.DataType().(*arrow.Decimal128Type).Scale
		for i := range n {
			set(i, c.Value(i).ToFloat64(scale))
		}
	case *array.Timestamp:
		for i, v := range c.TimestampValues() {
			set(i, float64(v))
		}
	case *array.Null:
	default:
		return fmt.Errorf("a %s is not a number a model can read; cast it, or map it to numbers with CASE", col.DataType())
	}
	for i := range n {
		if col.IsNull(i) {
			vals[i*k+j] = math.NaN()
		}
	}
	return nil
}

// StateFingerprint names the state's schema: the version of the model a checkpoint used.
func (s *Scorer) StateFingerprint() string { return "model-version-1" }

// Snapshot polls the model file, so that a change takes effect at this checkpoint, and
// names the version the rows after it are scored with.
func (s *Scorer) Snapshot(uint64) ([]byte, error) {
	s.model.Poll()
	return s.model.Snapshot(), nil
}

// Restore goes on with the model file as it is now, and logs a warning when its version is
// not the one the checkpoint names (the model's bytes are not kept in checkpoints).
func (s *Scorer) Restore(state []byte) error { return s.model.Restore(state) }

// Rescale gives every subtask the first subtask's state: they all name the same version.
func (s *Scorer) Rescale(states [][]byte, n int, _ op.KeyOwner) ([][]byte, error) {
	return sameForAll(states, n), nil
}

// sameForAll gives n subtasks the first state that is not nil.
func sameForAll(states [][]byte, n int) [][]byte {
	out := make([][]byte, n)
	for _, st := range states {
		if st != nil {
			for i := range out {
				out[i] = st
			}
			break
		}
	}
	return out
}

// Trees is the number of trees of the model in use.
func (s *Scorer) Trees() int { return s.model.Value().Trees() }
