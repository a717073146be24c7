package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteNexmarkTable writes results, one Nexmark query each, as a Markdown table: the query,
// the events and rows, the seconds taken, the events per second over all cores and per core,
// and the events per second of CPU time, in millions ("-" where CPU time is unknown).
func WriteNexmarkTable(w io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("| query | events | rows out | seconds | M events/s | M events/s per core | CPU seconds | M events per CPU second |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range results {
		cpu, perCPU := "-", "-"
		if r.CPU > 0 {
			cpu, perCPU = fmt.Sprintf("%.2f", r.CPU.Seconds()), fmt.Sprintf("%.2f", r.PerCPUSecond()/1e6)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %.2f | %.2f | %s | %s |\n", strings.TrimPrefix(r.Name, "nexmark "), r.Events, r.Rows,
			r.Elapsed.Round(time.Millisecond).Seconds(), r.PerSecond()/1e6, r.PerCore()/1e6, cpu, perCPU)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
