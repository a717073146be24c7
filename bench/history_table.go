package bench

import (
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"strings"
	"text/tabwriter"
)

// CompareDigests lists the fields on which two digests of the same work differ, each as
// `name: millrace A, DuckDB B`. Fields are compared as text, except those named in approx,
// which agree when they are numbers within ApproxTolerance of each other (relative to
// DuckDB's). A field one digest lacks differs.
func CompareDigests(millrace, duckdb map[string]string, approx []string) []string {
	names := make([]string, 0, len(millrace)+len(duckdb))
	for k := range millrace {
		names = append(names, k)
	}
	for k := range duckdb {
		if _, ok := millrace[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var differ []string
	for _, k := range names {
		a, okA := millrace[k]
		b, okB := duckdb[k]
		switch {
		case !okA || !okB:
		case a == b:
			continue
		case slices.Contains(approx, k) && near(a, b):
			continue
		}
		differ = append(differ, fmt.Sprintf("%s: millrace %s, DuckDB %s", k, orMissing(a, okA), orMissing(b, okB)))
	}
	return differ
}

func orMissing(v string, ok bool) string {
	if !ok {
		return "(missing)"
	}
	return v
}

// near reports whether a and b are numbers within ApproxTolerance of b.
func near(a, b string) bool {
	x, okX := new(big.Rat).SetString(a)
	y, okY := new(big.Rat).SetString(b)
	if !okX || !okY {
		return false
	}
	fx, _ := x.Float64()
	fy, _ := y.Float64()
	return math.Abs(fx-fy) <= ApproxTolerance*math.Abs(fy)
}

// WriteHistoryTable writes the results as a Markdown table: per work, millrace's wall time,
// processor time and peak memory, DuckDB's, and the ratios of the three (millrace over
// DuckDB), then whether their outputs agree.
func WriteHistoryTable(w io.Writer, results []HistoryResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| work\t| millrace\t| DuckDB\t| time ratio\t| CPU ratio\t| memory ratio\t| same answer\t|")
	fmt.Fprintln(tw, "| ---\t| ---\t| ---\t| ---\t| ---\t| ---\t| ---\t|")
	for _, r := range results {
		same := "yes"
		if len(r.Differ) > 0 {
			same = "NO: " + strings.Join(r.Differ, "; ")
		}
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %.2f\t| %.2f\t| %.2f\t| %s\t|\n", r.What, side(r.Millrace), side(r.DuckDB), r.TimeRatio(), r.CPURatio(), r.MemoryRatio(), same)
	}
	return tw.Flush()
}

// side writes one engine's figures: wall seconds, CPU seconds and MiB.
func side(s Side) string {
	return fmt.Sprintf("%.2f s (%.2f s CPU), %.0f MiB", s.Seconds, s.CPUSeconds, float64(s.PeakRSS)/(1<<20))
}
