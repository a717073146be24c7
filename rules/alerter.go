package rules

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/op"
	"millrace/reload"
	"millrace/take"
)

// AlertFields are the columns an Alerter adds to the input's.
var AlertFields = []arrow.Field{
	{Name: "rule", Type: arrow.BinaryTypes.String},
	{Name: "severity", Type: arrow.BinaryTypes.String},
	{Name: "reason", Type: arrow.BinaryTypes.String},
	{Name: "rules_version", Type: arrow.BinaryTypes.String},
}

// AlertSchema is the schema of an Alerter's output over input rows of schema in.
func AlertSchema(in *arrow.Schema) *arrow.Schema {
	return arrow.NewSchema(append(append([]arrow.Field{}, in.Fields()...), AlertFields...), nil)
}

// Loader compiles the bytes of a rules file against schema in; path names the file in
// errors. It is what an Alerter loads and reloads its file with.
func Loader(path string, in *arrow.Schema) reload.Loader[*Set] {
	return func(data []byte) (*Set, error) {
		rs, err := Parse(data, path)
		if err != nil {
			return nil, err
		}
		set, err := Compile(rs, in, path)
		if err != nil {
			return nil, err
		}
		set.Version = reload.Version(data)
		return set, nil
	}
}

// Alerter emits an alert row for every input row and rule it matches: the row's columns,
// then rule, severity, reason and rules_version. A batch's alerts come rule by rule, in the
// file's order, each rule's in row order. It reloads its rules file as package reload
// describes: before each batch when the run takes no checkpoints, at each checkpoint when it
// does. Its snapshot holds the rules in use, so a run restored from a checkpoint matches the
// rows after it with exactly those rules, and picks up the file as it is at its first
// checkpoint.
type Alerter struct {
	op.Base
	set *reload.File[*Set]
	out *arrow.Schema
	ctx op.Context
	tap Tap
}

// Tap sees what an Alerter matched, batch by batch: the input rows, the rules in use and,
// for every rule, the rows it matched (as Set.Match returns them). It must not keep rec,
// and it is called by every subtask of the step, concurrently.
type Tap interface {
	Matched(rec arrow.RecordBatch, set *Set, matches [][]int32)
}

// NewAlerter loads the rules file at path for rows of schema in; status is shared by the
// subtasks of one step. A missing or invalid file is an error.
func NewAlerter(path string, in *arrow.Schema, status *reload.Status) (*Alerter, error) {
	f, err := reload.Open(path, status, true, Loader(path, in))
	if err != nil {
		return nil, err
	}
	return &Alerter{set: f, out: AlertSchema(in)}, nil
}

// Clone returns an Alerter for another subtask, with the rules a in use, the same status
// and the same tap.
func (a *Alerter) Clone() *Alerter { return &Alerter{set: a.set.Clone(), out: a.out, tap: a.tap} }

// SetTap makes a, and the Alerters cloned from it after, show what they match to t.
func (a *Alerter) SetTap(t Tap) { a.tap = t }

// Version is the version of the rules in use.
func (a *Alerter) Version() string { return a.set.Version() }

// Open keeps the context and logs reloads to its logger.
func (a *Alerter) Open(ctx op.Context) error {
	a.ctx = ctx
	if ctx.Log != nil {
		a.set.SetLogger(ctx.Log.With("node", ctx.Node, "subtask", ctx.Subtask))
	}
	return nil
}

// Process emits the alerts of rec.
func (a *Alerter) Process(_ int, rec arrow.RecordBatch, out op.Collector) error {
	defer rec.Release()
	if !a.ctx.Checkpointing {
		a.set.Poll()
	}
	set := a.set.Value()
	matches, err := set.Match(rec)
	if err != nil {
		return err
	}
	if a.tap != nil {
		a.tap.Matched(rec, set, matches)
	}
	for k, rows := range matches {
		if len(rows) == 0 {
			continue
		}
		alerts, err := a.alerts(rec, rows, &set.Rules[k], set.Version)
		if err != nil {
			return err
		}
		if err := out.Collect(alerts); err != nil {
			return err
		}
	}
	return nil
}

// alerts makes the alert rows of rule r: rows of rec, then the rule's columns.
func (a *Alerter) alerts(rec arrow.RecordBatch, rows []int32, r *Rule, version string) (arrow.RecordBatch, error) {
	kept, err := take.Rows(rec, rows)
	if err != nil {
		return nil, fmt.Errorf("rule %s: take its rows: %w", r.Name, err)
	}
	defer kept.Release()
	mem := a.ctx.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	cols := append(make([]arrow.Array, 0, len(a.out.Fields())), kept.Columns()...)
	for _, v := range []string{r.Name, r.Severity, r.Reason, version} {
		c := constant(mem, v, len(rows))
		defer c.Release()
		cols = append(cols, c)
	}
	return array.NewRecordBatch(a.out, cols, int64(len(rows))), nil
}

// constant is a string column of n values v.
func constant(mem memory.Allocator, v string, n int) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.ReserveData(len(v) * n)
	for range n {
		b.Append(v)
	}
	return b.NewArray()
}

// StateFingerprint names the state's schema: the rules in use.
func (a *Alerter) StateFingerprint() string { return "rules-version-1" }

// Snapshot polls the rules file, so that a change takes effect at this checkpoint, and
// keeps the rules the rows after it are matched with.
func (a *Alerter) Snapshot(uint64) ([]byte, error) {
	a.set.Poll()
	return a.set.Snapshot(), nil
}

// Restore goes on with the rules the checkpoint holds.
func (a *Alerter) Restore(state []byte) error { return a.set.Restore(state) }

// Rescale gives every subtask the first subtask's state: they all hold the same rules.
func (a *Alerter) Rescale(states [][]byte, n int, _ op.KeyOwner) ([][]byte, error) {
	out := make([][]byte, n)
	for _, st := range states {
		if st != nil {
			for i := range out {
				out[i] = st
			}
			break
		}
	}
	return out, nil
}
