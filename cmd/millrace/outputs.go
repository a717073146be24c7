package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"millrace/engine"
	"millrace/plan"
	"millrace/sink"
)

// shownFiles is how many files of a sink the end of a run lists; it counts the rest.
const shownFiles = 5

// printOutputs says where each sink of p writes, by absolute path, as a run starts.
func printOutputs(w io.Writer, p *plan.Plan) {
	if len(p.Outputs) == 0 {
		return
	}
	fmt.Fprintln(w, "sinks:")
	for _, o := range p.Outputs {
		where := "stdout"
		if o.File != nil {
			where = absPath(o.File.Path)
			if o.File.Dir {
				where += string(filepath.Separator) + " (part files)"
			}
		}
		fmt.Fprintf(w, "  %s: %s %s\n", o.Sink, o.Kind, where)
	}
}

// printSummary lists, at the end of a run, each sink with what it holds: the files it has
// published and the rows of each, read back from them, or for stdout the rows this run
// wrote (from st, the run's final figures; nil if there are none).
func printSummary(w io.Writer, p *plan.Plan, st *engine.Stats) error {
	if len(p.Outputs) == 0 {
		return nil
	}
	fmt.Fprintln(w, "sinks:")
	for _, o := range p.Outputs {
		if o.File == nil {
			var rows int64
			if st != nil {
				if n, ok := st.Node(o.Node); ok {
					rows = n.RowsIn
				}
			}
			fmt.Fprintf(w, "  %s: %s rows to stdout\n", o.Sink, humanInt(rows))
			continue
		}
		files, err := sink.Published(*o.File, o.Schema)
		if err != nil {
			return fmt.Errorf("sink %s: %w", o.Sink, err)
		}
		var rows int64
		for _, f := range files {
			rows += f.Rows
		}
		root := absPath(o.File.Path)
		if !o.File.Dir {
			fmt.Fprintf(w, "  %s: %s rows in %s\n", o.Sink, humanInt(rows), root)
			continue
		}
		fmt.Fprintf(w, "  %s: %s rows in %s under %s%c\n", o.Sink, humanInt(rows), plural(len(files), "file"), root, filepath.Separator)
		for i, f := range files {
			if i == shownFiles {
				fmt.Fprintf(w, "    ... and %s more\n", plural(len(files)-shownFiles, "file"))
				break
			}
			rel, err := filepath.Rel(o.File.Path, f.Path)
			if err != nil {
				rel = f.Path
			}
			fmt.Fprintf(w, "    %s  %s rows\n", filepath.ToSlash(rel), humanInt(f.Rows))
		}
	}
	return nil
}

// absPath is path made absolute against the working directory, or path itself if the
// working directory cannot be found. A path in S3 is shown without its last slash.
func absPath(path string) string {
	if strings.HasPrefix(path, "s3://") {
		return strings.TrimSuffix(path, "/")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}

// plural is "1 file" or "n files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%s %ss", humanInt(int64(n)), strings.TrimSuffix(noun, "s"))
}
