// Package rules reads rules files and matches their rules against batches: the alerting
// half of fraud detection, beside package score's models.
//
// A rules file is YAML:
//
//	rules:
//	  - name: card_testing          # an identifier, unique in the file
//	    when: amount < 2 AND channel = 'ecom'   # a SQL predicate over the view's columns
//	    severity: high              # low | medium | high | critical
//	    reason: small online payments in a burst, as when a stolen card is tested
//
// Parse checks the structure, Compile the predicates against a schema; each error names the
// file, the line and the rule. A Set matches every rule against a batch and returns the
// rows each matches.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"go.yaml.in/yaml/v3"

	"millrace/expr"
)

// Severities lists the severities a rule may have, from the least.
var Severities = []string{"low", "medium", "high", "critical"}

// Rule is one rule of a file.
type Rule struct {
	Name     string
	When     string
	Severity string
	Reason   string
	// Line is where the rule starts in its file.
	Line int
}

// file is the YAML layout of a rules file.
type file struct {
	Rules []struct {
		Name     string `yaml:"name"`
		When     string `yaml:"when"`
		Severity string `yaml:"severity"`
		Reason   string `yaml:"reason"`
	} `yaml:"rules"`
}

// Parse reads the rules of a file's bytes; name names the file in errors.
func Parse(data []byte, name string) ([]Rule, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := ruleLines(&doc)
	var errs []error
	var out []Rule
	seen := map[string]int{}
	for i, r := range f.Rules {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: rules[%d]: %s", name, line, i, fmt.Sprintf(format, args...)))
		}
		switch {
		case r.Name == "":
			bad("name is required")
		case !isIdent(r.Name):
			bad("name %q is not an identifier: use letters, digits and _, not starting with a digit", r.Name)
		case seen[r.Name] > 0:
			bad("name %q is used by the rule at line %d too", r.Name, seen[r.Name])
		default:
			seen[r.Name] = line
		}
		if r.When == "" {
			bad("when is required: the SQL predicate a row matches")
		}
		if r.Severity == "" {
			r.Severity = "medium"
		} else if !slices.Contains(Severities, r.Severity) {
			bad("severity %q is not one of %v", r.Severity, Severities)
		}
		if r.Reason == "" {
			bad("reason is required: what an analyst reads on the alert")
		}
		out = append(out, Rule{Name: r.Name, When: r.When, Severity: r.Severity, Reason: r.Reason, Line: line})
	}
	if len(f.Rules) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no rules: want rules: [{name, when, severity, reason}, ...]", name))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// ruleLines returns the line of every item of the top-level rules list.
func ruleLines(doc *yaml.Node) []int {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "rules" && m.Content[i+1].Kind == yaml.SequenceNode {
			var lines []int
			for _, it := range m.Content[i+1].Content {
				lines = append(lines, it.Line)
			}
			return lines
		}
	}
	return nil
}

func isIdent(s string) bool {
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// Set is a list of rules compiled against one schema. It is immutable and safe for
// concurrent use.
type Set struct {
	Rules []Rule
	preds []*expr.Expr
	// Version names the bytes the rules were read from (see reload.Version).
	Version string
}

// Compile type-checks every rule's predicate against s; name names the file in errors.
func Compile(rules []Rule, s *arrow.Schema, name string) (*Set, error) {
	set := &Set{Rules: rules}
	var errs []error
	for i, r := range rules {
		e, err := expr.CompileString(r.When, s)
		if err == nil && e.Type().ID() != arrow.BOOL {
			err = fmt.Errorf("must be true or false, not %s", e.Type())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: rules[%d] %s: when: %w", name, r.Line, i, r.Name, err))
			continue
		}
		set.preds = append(set.preds, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return set, nil
}

// Match returns, for every rule in order, the rows of rec that match it, ascending. A rule
// whose predicate is NULL for a row does not match it.
func (s *Set) Match(rec arrow.RecordBatch) ([][]int32, error) {
	out := make([][]int32, len(s.preds))
	for k, p := range s.preds {
		m, err := p.Eval(rec)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", s.Rules[k].Name, err)
		}
		b, ok := m.(*array.Boolean)
		if !ok {
			m.Release()
			return nil, fmt.Errorf("rule %s: evaluates to %s, not a boolean", s.Rules[k].Name, m.DataType())
		}
		for i := range b.Len() {
			if b.IsValid(i) && b.Value(i) {
				out[k] = append(out[k], int32(i))
			}
		}
		b.Release()
	}
	return out, nil
}
