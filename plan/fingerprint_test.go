package plan

import (
	"path/filepath"
	"testing"

	"millrace/spec"
)

func TestFingerprintsChangeWithTheStepOnly(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	build := func(where string, p int) *Plan {
		text := `
name: fp
sources:
  tx: {kind: generator, rows: 100}
views:
  big: {from: tx, where: "` + where + `", select: {tx_id: tx_id}}
  per_card: {from: tx, group_by: [card_id], window: {tumble: 1m}, select: {n: count(*)}}
sinks:
  out: {from: big, kind: jsonl, path: ` + out + `}
`
		s, err := spec.Parse([]byte(text), "fp.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		pl, err := Build(s, Options{Parallelism: p})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	fps := func(p *Plan) map[string]string {
		m := map[string]string{}
		for _, s := range p.Steps {
			m[s.Name] = s.Fingerprint()
		}
		return m
	}
	base := fps(build("amount > 100", 2))
	again := fps(build("amount > 100", 4))
	for name, fp := range base {
		// A generator's partitions follow the parallelism, and its positions with them.
		if name != "tx" && again[name] != fp {
			t.Errorf("step %s: parallelism changed its fingerprint", name)
		}
	}
	changed := fps(build("amount > 200", 2))
	for _, name := range []string{"tx", "per_card", "per_card.partial"} {
		if changed[name] != base[name] {
			t.Errorf("step %s: fingerprint changed with another view", name)
		}
	}
	if changed["big"] == base["big"] {
		t.Error("a changed where kept the view's fingerprint")
	}
}
