package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"millrace/engine"
)

// Fingerprint identifies what a step does and what it keeps: its kind, its work, its
// columns and its inputs, but not its parallelism, nor whether unkeyed input comes forward
// or round-robin, which follows from it. A checkpoint records each step's fingerprint; a
// step whose fingerprint changed since cannot take its state back.
func (s *Step) Fingerprint() string {
	inputs := make([]Input, len(s.Inputs))
	for i, in := range s.Inputs {
		inputs[i] = in
		if in.Partitioning == engine.Forward.String() || in.Partitioning == engine.Rebalance.String() {
			inputs[i].Partitioning = "unkeyed"
		}
	}
	b, err := json.Marshal(struct {
		Kind    StepKind
		Does    []string
		Columns []string
		Inputs  []Input
	}{s.Kind, s.Does, s.Columns, inputs})
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Step returns the step of the named node.
func (p *Plan) Step(name string) (*Step, bool) {
	if p.steps != nil {
		st, ok := p.steps[name]
		return st, ok
	}
	for _, s := range p.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}
