package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/cobra"

	"millrace/format"
	"millrace/schema"
)

func newInspectCmd() *cobra.Command {
	var (
		schemaName string
		kind       string
		head       int
		deadShown  int
	)
	cmd := &cobra.Command{
		Use:   "inspect PATH...",
		Short: "Decode files and report rows, dead letters and their reasons",
		Long: `inspect decodes files as a pipeline source would: every record becomes a row or a dead
letter with where it was and why it was refused. It prints the first rows, the first dead
letters and the counts, and exits with status 1 if any record was refused. Ctrl-C or
SIGTERM stops it after the batch it is reading, with the count so far and exit status 130
or 143.

PATH is a file, a directory, or a glob (* ? [..] and ** for any depth); .gz and .zst text
files are decompressed on the fly.`,
		Example: `  millrace inspect millrace-demo/transactions.parquet --head 5
  millrace inspect 'data/**/*.jsonl.gz' --dead 20`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := schema.Builtin(schemaName)
			if err != nil {
				return usageError{err}
			}
			var k format.Kind
			if kind != "" {
				if k, err = format.ParseKind(kind); err != nil {
					return usageError{err}
				}
			}
			out := cmd.OutOrStdout()
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
	cmd.Flags().StringVar(&schemaName, "schema", "transaction", "schema the records must fit")
	cmd.Flags().StringVar(&kind, "format", "", "jsonl, csv or parquet (default: from each file's name)")
	cmd.Flags().IntVar(&head, "head", 3, "rows to print")
	cmd.Flags().IntVar(&deadShown, "dead", 10, "dead letters to print")
	return cmd
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
