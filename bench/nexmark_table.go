package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteNexmarkTable writes results, one Nexmark query each, as a Markdown table: the query,
// the events and rows, the seconds taken, and the events per second over all cores and per
// core, in millions.
func WriteNexmarkTable(w io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("| query | events | rows out | seconds | M events/s | M events/s per core |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %.2f | %.2f |\n", strings.TrimPrefix(r.Name, "nexmark "), r.Events, r.Rows,
			r.Elapsed.Round(time.Millisecond).Seconds(), r.PerSecond()/1e6, r.PerCore()/1e6)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
