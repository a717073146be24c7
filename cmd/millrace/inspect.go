package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"millrace/format"
	"millrace/schema"
)

func newInspectCmd() *cobra.Command {
	var (
		schemaName string
		columns    string
		inferRows  int
		kind       string
		head       int
		deadShown  int
	)
	cmd := &cobra.Command{
		Use:   "inspect PATH...",
		Short: "Decode any JSONL, CSV or Parquet file and report its schema, rows and dead letters",
		Long: `inspect decodes files as a pipeline source would: every record becomes a row or a dead
letter with where it was and why it was refused. It prints the schema it reads with, the
first rows, the first dead letters and the counts, and exits with status 1 if any record
was refused. Ctrl-C or SIGTERM stops it after the batch it is reading, with the count so far
and exit status 130 or 143.

By default the schema is the first file's own: a Parquet file's columns, or for JSONL and
CSV the columns of its first --infer-rows records, each of the narrowest type all their
values fit (bool, int64, decimal(P,S), float64, date, timestamp, string; every column
nullable). inspect says what it inferred, in the form --columns takes. --columns names the
columns and types instead (a spec's columns: as name:type pairs), and --schema checks the
records against a built-in schema (transaction).

PATH is a file, a directory, or a glob (* ? [..] and ** for any depth); .gz and .zst text
files are decompressed on the fly.`,
		Example: `  millrace inspect export.csv
  millrace inspect millrace-demo/transactions.parquet --head 5
  millrace inspect 'data/**/*.jsonl.gz' --schema transaction --dead 20
  millrace inspect rates.csv --columns 'currency:string,rate:decimal(18,6),day:date'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var k format.Kind
			var err error
			if kind != "" {
				if k, err = format.ParseKind(kind); err != nil {
					return usageError{err}
				}
			}
			out := cmd.OutOrStdout()
			s, err := inspectSchema(out, args[0], k, schemaName, columns, inferRows)
			if err != nil {
				return err
			}
			p := newProgress("inspect", 0, "")
			var rows, dead int64
			for _, path := range args {
				r, err := format.OpenAll(path, k, s, format.ReadOptions{})
				if err != nil {
					return err
				}
				n, d, err := inspect(cmd.Context(), out, r, &head, &deadShown, func(n int64) { p.update(rows+dead+n, 0) })
				r.Close()
				rows, dead = rows+n, dead+d
				if errors.Is(err, errInterrupted) {
					p.done()
					return fmt.Errorf("%w after %s records, reading %s", errInterrupted, humanInt(rows+dead), path)
				}
				if err != nil {
					return err
				}
			}
			p.done()
			fmt.Fprintf(out, "%s records: %s rows, %s dead letters\n", humanInt(rows+dead), humanInt(rows), humanInt(dead))
			if dead > 0 {
				return fmt.Errorf("%s of %s records refused", humanInt(dead), humanInt(rows+dead))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&schemaName, "schema", "", "a built-in schema the records must fit (transaction) instead of the file's own")
	cmd.Flags().StringVar(&columns, "columns", "", "the columns the records must fit, as name:type pairs separated by commas (types as in a spec: string, int64, decimal(18,2), timestamp, ... with null for nullable)")
	cmd.Flags().IntVar(&inferRows, "infer-rows", 1000, "JSONL and CSV records the file's own schema is inferred from")
	cmd.Flags().StringVar(&kind, "format", "", "jsonl, csv or parquet (default: from each file's name)")
	cmd.Flags().IntVar(&head, "head", 3, "rows to print")
	cmd.Flags().IntVar(&deadShown, "dead", 10, "dead letters to print")
	return cmd
}

// inspectSchema settles the schema inspect reads with: a built-in one, the --columns given,
// or the first file's own, which it prints.
func inspectSchema(out io.Writer, path string, kind format.Kind, builtin, columns string, inferRows int) (*arrow.Schema, error) {
	switch {
	case builtin != "" && columns != "":
		return nil, usagef("--schema %s and --columns: give one of them", builtin)
	case builtin != "":
		s, err := schema.Builtin(builtin)
		if err != nil {
			return nil, usageError{err}
		}
		return s, nil
	case columns != "":
		cols, err := parseColumns(columns)
		if err != nil {
			return nil, usagef("--columns %q: %v", columns, err)
		}
		s, err := schema.Parse(cols)
		if err != nil {
			return nil, usagef("--columns %q: %v", columns, err)
		}
		return s, nil
	case inferRows < 1:
		return nil, usagef("--infer-rows %d: want at least 1", inferRows)
	}
	files, err := format.Glob(path)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(files[0]); err == nil && !st.Mode().IsRegular() {
		// Inferring reads the first records, which a pipe would not give again.
		return nil, usagef("%s is not a regular file, so inspect cannot read its first records twice to infer its schema: give --columns or --schema", files[0])
	}
	inf, err := format.Infer(files[0], kind, inferRows)
	if err != nil {
		return nil, err
	}
	if inf.Records > 0 {
		fmt.Fprintf(out, "schema inferred from the first %s records of %s:\n", humanInt(int64(inf.Records)), files[0])
	} else {
		fmt.Fprintf(out, "schema of %s:\n", files[0])
	}
	fmt.Fprintf(out, "  --columns '%s'\n", columnsFlag(inf.Schema))
	for _, left := range inf.Left {
		fmt.Fprintf(out, "  left out: %s (inspect reads flat columns)\n", left)
	}
	return inf.Schema, nil
}

// columnsFlag writes a schema as --columns takes it.
func columnsFlag(s *arrow.Schema) string {
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + ":" + specTypeName(f.Type)
		if f.Nullable {
			parts[i] += " null"
		}
	}
	return strings.Join(parts, ",")
}

// specTypeName names a column type as a spec writes it.
func specTypeName(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING:
		return "string"
	case arrow.BOOL:
		return "bool"
	case arrow.TIMESTAMP:
		return "timestamp"
	case arrow.DATE32:
		return "date"
	case arrow.DECIMAL128:
		d := t.(*arrow.Decimal128Type)
		return fmt.Sprintf("decimal(%d,%d)", d.Precision, d.Scale)
	}
	return t.Name() // int32, int64, float64
}

// parseColumns reads name:type pairs separated by commas; commas inside parentheses, as in
// decimal(18,2), belong to the type. A type may end in " null" (nullable).
func parseColumns(text string) ([]schema.Column, error) {
	var cols []schema.Column
	depth, start := 0, 0
	for i := 0; i <= len(text); i++ {
		if i < len(text) {
			switch text[i] {
			case '(':
				depth++
			case ')':
				depth--
			}
			if text[i] != ',' || depth > 0 {
				continue
			}
		}
		name, typ, ok := strings.Cut(strings.TrimSpace(text[start:i]), ":")
		if !ok {
			return nil, fmt.Errorf("%q is not name:type", strings.TrimSpace(text[start:i]))
		}
		typ = strings.TrimSpace(typ)
		nullable := false
		if t, ok := strings.CutSuffix(typ, " null"); ok {
			typ, nullable = strings.TrimSpace(t), true
		}
		cols = append(cols, schema.Column{Name: strings.TrimSpace(name), Type: typ, Nullable: nullable})
		start = i + 1
	}
	return cols, nil
}

// inspect reads r to the end, printing up to *head rows and *deadShown dead letters (and
// counting those budgets down), and telling progress how many records it has read. When ctx
// ends it stops after the batch it was reading, with errInterrupted.
func inspect(ctx context.Context, out io.Writer, r format.Reader, head, deadShown *int, progress func(records int64)) (rows, dead int64, err error) {
	for {
		rec, dl, err := r.Read()
		if ctx.Err() != nil {
			if rec != nil {
				rec.Release()
			}
			return rows, dead, errInterrupted
		}
		if err == io.EOF {
			return rows, dead, nil
		}
		if err != nil {
			return rows, dead, err
		}
		for _, d := range dl {
			if *deadShown > 0 {
				*deadShown--
				fmt.Fprintf(out, "dead letter %s: %s\n    %s\n", d.Where(), d.Reason, clip(string(d.Raw), 160))
			}
		}
		dead += int64(len(dl))
		if rec != nil {
			rows += rec.NumRows()
			printRows(out, rec, head)
			rec.Release()
		}
		progress(rows + dead)
	}
}

func printRows(out io.Writer, rec arrow.RecordBatch, head *int) {
	for row := 0; row < int(rec.NumRows()) && *head > 0; row++ {
		*head--
		var b strings.Builder
		for i, col := range rec.Columns() {
			if i > 0 {
				b.WriteString("  ")
			}
			fmt.Fprintf(&b, "%s=%s", rec.ColumnName(i), col.ValueStr(row))
		}
		fmt.Fprintln(out, b.String())
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
