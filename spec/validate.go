package spec

import (
	"fmt"
	"millrace/spelling"
	"strings"
)

// validate checks what involves several entries of a decoded spec: names, the streams and
// tables that views and sinks refer to, sink paths, and cycles among views. It marks every
// joined source as a table.
func (d *decoder) validate(s *Spec) {
	for _, v := range s.Views {
		if src := s.Source(v.Name); src != nil {
			d.errs = append(d.errs, newError(v.Pos, "views."+v.Name,
				"the name %q is taken by sources.%s (line %d); sources and views share names because from: refers to either", v.Name, src.Name, src.Pos.Line))
		}
	}

	// Joined sources are tables; remember where each was first joined.
	joined := make(map[string]string)
	for _, v := range s.Views {
		if v.Join == nil || v.Join.Table == "" {
			continue
		}
		path := "views." + v.Name + ".join.table"
		if d.table(s, v.Join.Table, path) {
			if _, ok := joined[v.Join.Table]; !ok {
				joined[v.Join.Table] = "views." + v.Name + ".join"
			}
		}
	}

	d.liveSources(s)
	for _, v := range s.Views {
		for i, ref := range v.From {
			d.stream(s, ref, itemPath(s, "views."+v.Name+".from", i, len(v.From)), joined)
		}
		if v.Join != nil && v.Join.Stream != "" {
			d.stream(s, v.Join.Stream, "views."+v.Name+".join.stream", joined)
		}
	}
	for _, k := range s.Sinks {
		if k.From != "" {
			d.stream(s, k.From, "sinks."+k.Name+".from", joined)
		}
	}
	for name := range joined {
		if src := s.Source(name); src != nil {
			src.Table = true
		}
	}

	written := make(map[string]*Sink)
	for _, k := range s.Sinks {
		if _, side := SplitRef(k.From); k.Redact && k.From != "" && side != DeadLetters {
			d.errs = append(d.errs, s.Errorf("sinks."+k.Name+".redact", "masks dead letters, but the sink writes %s; read a <source>.%s stream, or drop redact", k.From, DeadLetters))
		}
		if k.Path == "" {
			continue
		}
		if msg := unsafeSinkPath(k.Path); msg != "" {
			d.errs = append(d.errs, s.Errorf("sinks."+k.Name+".path", "%s", msg))
			continue
		}
		if first, ok := written[k.Path]; ok {
			d.errs = append(d.errs, s.Errorf("sinks."+k.Name+".path", "%q is also written by sinks.%s (line %d)", k.Path, first.Name, first.Pos.Line))
			continue
		}
		written[k.Path] = k
	}

	d.cycles(s)
}

// itemPath is the key path of the i-th of n items of a list value, which is the list's own
// path when the list was written as a single scalar.
func itemPath(s *Spec, list string, i, n int) string {
	p := fmt.Sprintf("%s[%d]", list, i)
	if _, ok := s.at[p]; ok || n > 1 {
		return p
	}
	return list
}

// table checks that a join's table names a file source, reporting at path otherwise.
func (d *decoder) table(s *Spec, name, path string) bool {
	if src := s.Source(name); src != nil {
		if src.Kind != SourceFile && src.Kind != "" {
			d.errs = append(d.errs, s.Errorf(path, "%q is a %s source; a join table must be a file source", name, src.Kind))
			return false
		}
		return true
	}
	if s.View(name) != nil {
		d.errs = append(d.errs, s.Errorf(path, "%q is a view; a join table must be a file source", name))
		return false
	}
	if d.badNames[name] {
		return false
	}
	var files []string
	for _, src := range s.Sources {
		if src.Kind == SourceFile {
			files = append(files, src.Name)
		}
	}
	d.errs = append(d.errs, s.Errorf(path, "unknown table %q%s", name, orDefault(d.nameHint(name, func() []string { return files }), "; declare it as a file source with table: true")))
	return false
}

// stream checks a stream reference in a from: at path. joined maps the sources joined as
// tables to the join that first does so.
func (d *decoder) stream(s *Spec, ref, path string, joined map[string]string) {
	name, side := SplitRef(ref)
	if name == "" || strings.Contains(side, ".") {
		d.errs = append(d.errs, s.Errorf(path, "%q is not a stream name: want a source or view, <source>.%s, <source>.%s or <view>.%s", ref, DeadLetters, Late, ErrorRows))
		return
	}
	src, view := s.Source(name), s.View(name)
	if src == nil && view == nil && d.badNames[name] {
		return
	}
	if side != "" {
		switch {
		case src != nil && side != DeadLetters && side != Late:
			d.errs = append(d.errs, s.Errorf(path, "unknown side stream %q of source %s%s", side, name, orDefault(spelling.DidYouMean(side, sides), " (a source has dead_letters and late)")))
		case src != nil && side == Late && src.EventTime == "":
			d.errs = append(d.errs, s.Errorf(path, "source %s has no event_time, so none of its records is ever late", name))
		case src != nil:
		case view != nil && side != ErrorRows:
			d.errs = append(d.errs, s.Errorf(path, "unknown side stream %q of view %s (a view has %s; %s and %s belong to sources)", side, name, ErrorRows, DeadLetters, Late))
		case view != nil && view.OnError.Fails():
			d.errs = append(d.errs, s.Errorf(path, "view %s has on_error: fail, so it has no errors to read", name))
		case view != nil:
		default:
			d.errs = append(d.errs, s.Errorf(path, "unknown source %q%s", name, d.nameHint(name, func() []string { return sourceNames(s) })))
		}
		return
	}
	switch {
	case src != nil && src.LiveOf != "":
		d.errs = append(d.errs, s.Errorf(path, "%q is read after the history of source %s (its then:), as part of that stream; read %s instead", name, src.LiveOf, src.LiveOf))
	case src != nil && src.Table:
		d.errs = append(d.errs, s.Errorf(path, "%q is a table source (table: true); join it with join: {table: %s, on: ...} rather than reading it as a stream", name, name))
	case src != nil && joined[name] != "":
		d.errs = append(d.errs, s.Errorf(path, "%q is joined as a table by %s (line %d), so it cannot also be read as a stream; declare a second source for the stream",
			name, strings.TrimSuffix(joined[name], ".join"), s.At(joined[name]).Line))
	case src != nil, view != nil:
	default:
		d.errs = append(d.errs, s.Errorf(path, "unknown source or view %q%s", name, d.nameHint(name, func() []string { return d.streamNames(s) })))
	}
}

// maxNameHints bounds the "did you mean" hints among a spec's own names: each compares a
// name with every source and view, so a spec with thousands of wrong references would
// otherwise take time that grows with the square of its size. Later errors go without.
const maxNameHints = 100

// nameHint returns spelling.DidYouMean of word among the names of the spec that names
// returns, for the first maxNameHints names looked up, and "" after them.
func (d *decoder) nameHint(word string, names func() []string) string {
	if d.nameHints >= maxNameHints {
		return ""
	}
	d.nameHints++
	return spelling.DidYouMean(word, names())
}

// streamNames returns the names of the sources and views of s, made once per spec.
func (d *decoder) streamNames(s *Spec) []string {
	if d.streams == nil {
		d.streams = append(sourceNames(s), viewNames(s)...)
	}
	return d.streams
}

func sourceNames(s *Spec) []string {
	names := make([]string, len(s.Sources))
	for i, src := range s.Sources {
		names[i] = src.Name
	}
	return names
}

func viewNames(s *Spec) []string {
	names := make([]string, len(s.Views))
	for i, v := range s.Views {
		names[i] = v.Name
	}
	return names
}

// liveSources checks the then: of every lake source, a live source read after the lake's
// history, and marks that source as read so (Source.LiveOf).
func (d *decoder) liveSources(s *Spec) {
	for _, lake := range s.Sources {
		name := lake.Lake.Then
		if lake.Kind != SourceLake || name == "" {
			continue
		}
		path := "sources." + lake.Name + ".then"
		live := s.Source(name)
		switch {
		case live == nil:
			d.errs = append(d.errs, s.Errorf(path, "unknown source %q%s", name, d.nameHint(name, func() []string { return sourceNames(s) })))
		case live.Kind != SourceKafka && live.Kind != SourceNATS:
			d.errs = append(d.errs, s.Errorf(path, "%s is a %s source; a lake goes on with a live one, kafka or nats", name, live.Kind))
		case live.LiveOf != "":
			d.errs = append(d.errs, s.Errorf(path, "%s already goes on after the lake %s", name, live.LiveOf))
		case live.EventTime != lake.EventTime:
			d.errs = append(d.errs, s.Errorf(path, "%s has event_time %q and the lake %q: the stream is cut at switch_at by one event time", name, live.EventTime, lake.EventTime))
		default:
			live.LiveOf = lake.Name
		}
	}
}
