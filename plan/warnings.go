package plan

import (
	"fmt"

	"millrace/spec"
)

// Warnings lists what in a valid spec is likely a mistake, for people, in spec order: a
// source whose refused records no sink keeps, a view whose rows nothing reads, a spec with no
// sinks. None of them stops a run; `millrace plan` and `millrace run` print them first.
func Warnings(s *spec.Spec) []string {
	var out []string
	if len(s.Sinks) == 0 {
		out = append(out, "the spec has no sinks, so a run computes and writes nothing: add one under sinks:, "+
			"such as out: {from: NAME, kind: jsonl, path: out/NAME.jsonl}")
	}
	read := map[string]bool{} // every stream reference a view or sink reads
	for _, v := range s.Views {
		for _, ref := range s.Inputs(v.Name) {
			read[ref] = true
		}
		if v.Join != nil {
			read[v.Join.Table] = true
		}
	}
	for _, k := range s.Sinks {
		read[k.From] = true
	}
	for _, src := range s.Sources {
		if src.Table || !refuses(src) {
			continue
		}
		if ref := src.Name + "." + spec.DeadLetters; !read[ref] {
			out = append(out, fmt.Sprintf("source %s: the records it refuses (undecodable, or failing a check) are counted in the ledger "+
				"but kept nowhere; to keep them, add a sink such as %s_dead: {from: %s, kind: jsonl, path: out/%s_dead.jsonl}",
				src.Name, src.Name, ref, src.Name))
		}
	}
	for _, v := range s.Views {
		if len(s.Sinks) > 0 && !read[v.Name] {
			out = append(out, fmt.Sprintf("view %s: no sink or view reads it, so its rows go nowhere; add a sink with from: %s, or remove the view",
				v.Name, v.Name))
		}
	}
	return out
}

// refuses reports whether a source can refuse records: every source that decodes bytes, and
// a generator that checks its records (its batches are never malformed).
func refuses(src *spec.Source) bool {
	if src.Kind == spec.SourceGenerator || src.Kind == spec.SourceNexmark {
		return len(src.Checks) > 0
	}
	return true
}

// StdinSources names the sources that read standard input (path -), which can be read only
// once: a run with one takes no checkpoints.
func (p *Plan) StdinSources() []string {
	var out []string
	for _, src := range p.Spec.Sources {
		if src.Kind == spec.SourceFile && src.Path == spec.Stdin {
			out = append(out, src.Name)
		}
	}
	return out
}
