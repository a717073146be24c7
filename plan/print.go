package plan

import (
	"encoding/json"
	"fmt"
	"strings"
)

// String renders the plan for people: every step with its parallelism, what it does, where
// its input comes from and how it is partitioned, and its columns.
func (p *Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pipeline %s: %d steps, key groups %d\n", p.Spec.Name, len(p.Steps), p.Graph.KeyGroups)
	for _, st := range p.Steps {
		fmt.Fprintf(&b, "\n%s  [%s, parallelism %d]\n", st.Name, st.Kind, st.Parallelism)
		for _, in := range st.Inputs {
			from := in.From
			if in.Port != "" {
				from += "." + in.Port
			}
			how := in.Partitioning
			if len(in.Key) > 0 {
				how += " by " + strings.Join(in.Key, ", ")
			}
			fmt.Fprintf(&b, "  <- %s (%s)\n", from, how)
		}
		for _, d := range st.Does {
			fmt.Fprintf(&b, "  %s\n", d)
		}
		if len(st.Columns) > 0 {
			fmt.Fprintf(&b, "  columns: %s\n", strings.Join(st.Columns, ", "))
		}
	}
	return b.String()
}

// JSON renders the plan as JSON: {"pipeline": ..., "key_groups": ..., "steps": [...]}.
func (p *Plan) JSON() ([]byte, error) {
	return json.MarshalIndent(struct {
		Pipeline  string  `json:"pipeline"`
		KeyGroups int     `json:"key_groups"`
		Steps     []*Step `json:"steps"`
	}{p.Spec.Name, p.Graph.KeyGroups, p.Steps}, "", "  ")
}
