package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Fingerprint identifies what a step does and what it keeps: its kind, its work, its
// columns and its inputs, but not its parallelism. A checkpoint records each step's
// fingerprint; a step whose fingerprint changed since cannot take its state back.
func (s *Step) Fingerprint() string {
	b, err := json.Marshal(struct {
		Kind    string
		Does    []string
		Columns []string
		Inputs  []Input
	}{s.Kind, s.Does, s.Columns, s.Inputs})
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Step returns the step of the named node.
func (p *Plan) Step(name string) (*Step, bool) {
	for _, s := range p.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}
