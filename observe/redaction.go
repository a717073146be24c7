package observe

import (
	"slices"
	"strings"

	"millrace/engine"
	"millrace/plan"
	"millrace/redact"
)

// redactions masks what the API shows of records and keys (see package redact): the raw
// records and reasons of dead letters by their source's `redact:` list, hot keys whose key
// holds a masked column, and card numbers everywhere.
type redactions struct {
	bySource map[string]redact.Rules
	// all holds every source's names: reasons that quote a hot key are masked with them.
	all redact.Rules
	// maskedKeys holds the steps whose hot keys are masked whole: a keyed edge into or out
	// of them hashes a masked column.
	maskedKeys map[string]bool
}

// newRedactions reads the redaction rules of p's sources, and finds the steps whose keys
// they mask.
func newRedactions(p *plan.Plan) redactions {
	r := redactions{bySource: map[string]redact.Rules{}, maskedKeys: map[string]bool{}}
	if p == nil || p.Spec == nil {
		return r
	}
	var names []string
	for _, src := range p.Spec.Sources {
		r.bySource[src.Name] = redact.ForSource(src)
		names = append(names, src.Redact...)
	}
	r.all = redact.NewRules(names, nil)
	for _, st := range p.Steps {
		for _, in := range st.Inputs {
			for _, k := range in.Key {
				if r.all.Names(k) {
					r.maskedKeys[st.Name], r.maskedKeys[in.From] = true, true
				}
			}
		}
	}
	return r
}

// deadLetter is d as the API shows it: its raw record and reason masked by its source's
// rules.
func (r redactions) deadLetter(d engine.SourceDeadLetter) deadLetterView {
	rules := r.bySource[d.Source]
	raw := strings.ToValidUTF8(string(d.Raw), "\uFFFD")
	return deadLetterView{Source: d.Source, Where: d.Where(), Reason: rules.Text(d.Reason), Raw: rules.Record(raw)}
}

// topology masks the hot keys of t, and the keys the verdict's reason quotes.
func (r redactions) topology(t Topology) Topology {
	reason := t.Verdict.Reason
	t.Nodes = slices.Clone(t.Nodes)
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if len(n.HotKeys) == 0 {
			continue
		}
		keys := make([]HotKey, len(n.HotKeys))
		for j, h := range n.HotKeys {
			masked := redact.Cards(h.Key)
			if r.maskedKeys[n.ID] {
				masked = redact.Mask
			}
			if masked != h.Key && h.Key != "" {
				reason = strings.ReplaceAll(reason, h.Key, masked)
			}
			h.Key = masked
			keys[j] = h
		}
		n.HotKeys = keys
	}
	t.Verdict.Reason = r.all.Text(reason)
	return t
}
