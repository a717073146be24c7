package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/spf13/cobra"

	"millrace/eval"
	"millrace/expr"
	"millrace/format"
	"millrace/rules"
)

// evalFlags are the flags of `millrace eval`.
type evalFlags struct {
	label, scenario, score, rules, plot, format string
	threshold, alertRate                        float64
	json                                        bool
}

func newEvalCmd() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval FILE --label is_fraud [--scenario fraud_scenario] [--score score] [--rules rules.yaml]",
		Short: "Measure how well a model's scores and a rules file catch what a label marks",
		Long: `eval reads a file of scored rows (Parquet, JSONL or CSV; a pipeline's audit trail) and measures,
against the label column, the model's score and every rule of a rules file: precision, recall and
F1 at the alert threshold (a rule alerts where it matches), PR-AUC (average precision), ROC-AUC,
and the recall when a share of the rows alert (--alert-rate). With a scenario column (the
generator's fraud_scenario: gen --scenario-column, or schema: transaction_scenario) it measures
each scenario too, over that scenario's fraud rows and every normal row.

  millrace eval out/fraud/audit.parquet --label is_fraud --scenario fraud_scenario \
      --score score --threshold 0.5 --rules examples/rules/fraud.yaml --plot curves.png

--plot draws the precision-recall and ROC curves as a PNG: each classifier's curve over all rows
solid, per scenario dashed, its point at the threshold a dot. A rule is compiled against the
file's columns, so they must include what its predicate reads.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEval(cmd, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.label, "label", "is_fraud", "the boolean column that marks what should alert")
	fl.StringVar(&f.scenario, "scenario", "fraud_scenario", "the column naming each positive row's scenario, if the file has it")
	fl.StringVar(&f.score, "score", "score", "the model's score column, if the file has it")
	fl.Float64Var(&f.threshold, "threshold", 0.5, "the alert threshold of the score")
	fl.StringVar(&f.rules, "rules", "", "a rules file whose every rule is measured")
	fl.Float64Var(&f.alertRate, "alert-rate", 0.01, "the share of rows that alert for the recall@ column")
	fl.StringVar(&f.plot, "plot", "", "write the curves to this PNG file")
	fl.StringVar(&f.format, "format", "", "the file's format: parquet, jsonl or csv (default: from its name)")
	fl.BoolVar(&f.json, "json", false, "print the measures as JSON, with the counts of true and false positives and negatives at the threshold")
	return cmd
}

// evalColumns gathers what eval measures, a batch at a time.
type evalColumns struct {
	labels   []bool
	scenario []string
	score    []float64
	rules    [][]float64
}

func runEval(cmd *cobra.Command, path string, f evalFlags) error {
	if f.alertRate <= 0 || f.alertRate > 1 {
		return usagef("--alert-rate %g: want a share above 0, at most 1", f.alertRate)
	}
	if f.plot != "" && !strings.EqualFold(filepath.Ext(f.plot), ".png") {
		return usagef("--plot %s: eval draws PNG files; name it .png", f.plot)
	}
	kind := format.Kind(f.format)
	inf, err := format.Infer(path, kind, 10_000)
	if err != nil {
		return err
	}
	s := inf.Schema
	has := func(col string) bool { return len(s.FieldIndices(col)) > 0 }
	fl := cmd.Flags()
	if !has(f.label) {
		return usagef("%s has no label column %q (columns: %s)", path, f.label, columnNames(s))
	}
	label, err := expr.CompileString(fmt.Sprintf("coalesce(CAST(%s AS boolean), false)", quoteCol(f.label)), s)
	if err != nil {
		return fmt.Errorf("label %s: %w", f.label, err)
	}
	var scen, score *expr.Expr
	if has(f.scenario) {
		if scen, err = expr.CompileString(fmt.Sprintf("coalesce(CAST(%s AS string), '')", quoteCol(f.scenario)), s); err != nil {
			return fmt.Errorf("scenario %s: %w", f.scenario, err)
		}
	} else if fl.Changed("scenario") {
		return usagef("%s has no scenario column %q (columns: %s)", path, f.scenario, columnNames(s))
	}
	if has(f.score) {
		if score, err = expr.CompileString(fmt.Sprintf("CAST(%s AS float64)", quoteCol(f.score)), s); err != nil {
			return fmt.Errorf("score %s: %w", f.score, err)
		}
	} else if fl.Changed("score") {
		return usagef("%s has no score column %q (columns: %s)", path, f.score, columnNames(s))
	}
	var set *rules.Set
	if f.rules != "" {
		data, err := os.ReadFile(f.rules)
		if err != nil {
			return err
		}
		if set, err = rules.Loader(f.rules, s)(data); err != nil {
			return err
		}
	}
	if score == nil && set == nil {
		return usagef("nothing to measure: %s has no column %q, and no --rules was given", path, f.score)
	}

	r, err := format.OpenAll(path, kind, s, format.ReadOptions{FailOnDamage: true})
	if err != nil {
		return err
	}
	defer r.Close()
	var cols evalColumns
	if set != nil {
		cols.rules = make([][]float64, len(set.Rules))
	}
	for {
		rec, _, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		err = cols.add(rec, label, scen, score, set)
		rec.Release()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	var cs []eval.Classifier
	if score != nil {
		cs = append(cs, eval.Classifier{Name: f.score, Scores: cols.score, Threshold: f.threshold})
	}
	if set != nil {
		for k, rule := range set.Rules {
			cs = append(cs, eval.Classifier{Name: "rule " + rule.Name, Scores: cols.rules[k], Threshold: 1})
		}
	}
	var scenario []string
	if scen != nil {
		scenario = cols.scenario
	}
	rep, err := eval.Evaluate(cols.labels, scenario, f.alertRate, cs...)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.json {
		if err := rep.WriteJSON(out); err != nil {
			return err
		}
		return writeCurves(out, f.plot, rep, false)
	}
	positives := 0
	for _, l := range cols.labels {
		if l {
			positives++
		}
	}
	fmt.Fprintf(out, "%s: %d rows, %d with %s\n", path, len(cols.labels), positives, f.label)
	if err := rep.Write(out); err != nil {
		return err
	}
	return writeCurves(out, f.plot, rep, true)
}

// writeCurves draws the curves of rep to the PNG file path, if path is not empty, and with
// say tells out so.
func writeCurves(out io.Writer, path string, rep eval.Report, say bool) error {
	if path == "" {
		return nil
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := eval.WritePNG(fh, rep); err != nil {
		_ = fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	if say {
		fmt.Fprintf(out, "wrote the curves to %s\n", path)
	}
	return nil
}

// add appends what rec holds.
func (c *evalColumns) add(rec arrow.RecordBatch, label, scen, score *expr.Expr, set *rules.Set) error {
	n := int(rec.NumRows())
	l, err := label.Eval(rec)
	if err != nil {
		return fmt.Errorf("label: %w", err)
	}
	defer l.Release()
	lb := l.(*array.Boolean)
	for i := range n {
		c.labels = append(c.labels, lb.Value(i))
	}
	if scen != nil {
		a, err := scen.Eval(rec)
		if err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
		defer a.Release()
		sa := a.(*array.String)
		for i := range n {
			c.scenario = append(c.scenario, sa.Value(i))
		}
	}
	if score != nil {
		a, err := score.Eval(rec)
		if err != nil {
			return fmt.Errorf("score: %w", err)
		}
		defer a.Release()
		fa := a.(*array.Float64)
		for i := range n {
			v := fa.Value(i)
			if fa.IsNull(i) {
				v = math.NaN()
			}
			c.score = append(c.score, v)
		}
	}
	if set != nil {
		matches, err := set.Match(rec)
		if err != nil {
			return err
		}
		for k, rows := range matches {
			base := len(c.rules[k])
			c.rules[k] = append(c.rules[k], make([]float64, n)...)
			for _, r := range rows {
				c.rules[k][base+int(r)] = 1
			}
		}
	}
	return nil
}

func columnNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// quoteCol writes a column name as the expression parser reads it.
func quoteCol(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
