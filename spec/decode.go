package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"millrace/spelling"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns the YAML node tree of one spec into the types of this package, collecting
// every problem it meets instead of stopping at the first.
type decoder struct {
	ctx   context.Context // ends decoding early; its error is Parse's
	file  string
	data  []byte
	lines []string // the file's lines, to place text inside block scalars
	env   func(string) (string, bool)
	errs  Errors
	at    map[string]Pos // position of every key and list item, by key path
	// merges holds the pairs of every mapping merged with <<, by node.
	merges map[*yaml.Node][]pair
	// badNames holds the entry names refused as names, so that references to them are not
	// reported a second time as unknown.
	badNames map[string]bool
	// nameHints counts the hints looked up among the spec's names (see nameHint), and
	// streams caches the names of its sources and views for them.
	nameHints int
	streams   []string
}

func newDecoder(ctx context.Context, data []byte, file string, env func(string) (string, bool)) *decoder {
	return &decoder{
		ctx:      ctx,
		file:     file,
		data:     data,
		lines:    strings.Split(string(data), "\n"),
		env:      env,
		at:       make(map[string]Pos),
		merges:   make(map[*yaml.Node][]pair),
		badNames: make(map[string]bool),
	}
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Column: n.Column}
}

// errorf records a problem with the value at n, whose key path is path.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, newError(d.pos(n), path, format, args...))
}

// yamlLine finds the line number in the messages of the YAML parser: "yaml: line 7: ...".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses the YAML text and returns its root node, or nil after recording why there
// is none.
func (d *decoder) document() *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(d.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errs = append(d.errs, newError(Pos{File: d.file, Line: 1}, "", "the spec is empty: want a mapping with name, sources, views and sinks"))
			return nil
		}
		d.syntaxError(err)
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.errorf(&next, "", "a second YAML document: a spec file holds one pipeline")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
		return nil
	}
	if len(doc.Content) == 0 {
		d.errs = append(d.errs, newError(Pos{File: d.file, Line: 1}, "", "the spec is empty: want a mapping with name, sources, views and sinks"))
		return nil
	}
	return doc.Content[0]
}

// parserProblems are the messages of the YAML parser (not its scanner), whose line numbers
// the YAML package reports one too low.
var parserProblems = []string{
	"did not find expected key",
	"did not find expected ',' or '}'",
	"did not find expected ',' or ']'",
	"did not find expected '-' indicator",
	"did not find expected node content",
	"did not find expected <document start>",
}

// syntaxError records an error of the YAML parser, moving its line number to the front.
func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if slices.Contains(parserProblems, m[2]) {
			// The parser's line is that of its context mark, counted from 0.
			line++
		}
		d.errs = append(d.errs, &Error{Pos: Pos{File: d.file, Line: line}, Msg: "YAML: " + m[2] + d.unquotedVarHint(line)})
		return
	}
	d.errs = append(d.errs, &Error{Pos: Pos{File: d.file}, Msg: "YAML: " + strings.TrimPrefix(msg, "yaml: ")})
}

// unquotedVar finds a ${...} reference written as a bare value: after ": " or "- " or a
// flow collection's "{" "[" ",", not inside quotes.
var unquotedVar = regexp.MustCompile(`(?:^|[:,{\[-])\s*(\$\{[^}\s]*\}?)`)

// unquotedVarHint explains a syntax error on a line (or the one before it, where a flow
// mapping may have started) that holds an unquoted ${...}: YAML reads its "{" as the start of
// a flow mapping.
func (d *decoder) unquotedVarHint(line int) string {
	for _, l := range []int{line, line - 1} {
		if l < 1 || l > len(d.lines) {
			continue
		}
		text := d.lines[l-1]
		for _, m := range unquotedVar.FindAllStringSubmatchIndex(text, -1) {
			if quoted(text[:m[2]]) {
				continue
			}
			ref := text[m[2]:m[3]]
			at := ""
			if l != line {
				at = fmt.Sprintf("line %d: ", l)
			}
			return fmt.Sprintf(" (%sYAML reads the { of %s as the start of a mapping: quote it, \"%s\")", at, ref, ref)
		}
	}
	return ""
}

// quoted reports whether the end of text is inside a quoted YAML string.
func quoted(text string) bool {
	var q rune
	for _, c := range text {
		switch {
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q != 0 && c == q:
			q = 0
		}
	}
	return q != 0
}

// spec decodes the whole document; it returns nil when there is nothing to validate.
func (d *decoder) spec() *Spec {
	root := d.document()
	if root == nil {
		return nil
	}
	if r := deref(root); r.Kind != yaml.MappingNode {
		d.errorf(r, "", "the spec must be a mapping with name, sources, views and sinks")
		return nil
	}
	pairs, _ := d.mapping(root, "", "")
	s := &Spec{File: d.file, at: d.at}
	decodeFields(d, s, pairs, "", specFields, "", "")
	has := func(key string) bool {
		return slices.ContainsFunc(pairs, func(p pair) bool { return p.key == key })
	}
	if !has("name") {
		d.errorf(root, "", "name is required: the pipeline's name, as in name: card-velocity")
	}
	if !has("sources") {
		d.errorf(root, "", "sources is required: at least one source of records")
	}
	return s
}

// specFields are the top-level keys.
var specFields = map[string]field[Spec]{
	"name": {set: func(d *decoder, s *Spec, n *yaml.Node, path string) {
		if v, ok := d.str(n, path, "the pipeline's name"); ok {
			if !isPipelineName(v) {
				d.errorf(n, path, "%q is not a pipeline name: use letters, digits, _ and -, starting with a letter or _", v)
				return
			}
			s.Name = v
		}
	}},
	"sources": {set: func(d *decoder, s *Spec, n *yaml.Node, path string) {
		s.Sources = entries(d, n, path, "source", d.source)
		if len(s.Sources) == 0 && isEmpty(n) {
			d.errorf(n, path, "no sources: a pipeline needs at least one")
		}
	}},
	"views": {set: func(d *decoder, s *Spec, n *yaml.Node, path string) {
		s.Views = entries(d, n, path, "view", d.view)
	}},
	"sinks": {set: func(d *decoder, s *Spec, n *yaml.Node, path string) {
		s.Sinks = entries(d, n, path, "sink", d.sink)
	}},
}

// entries decodes a mapping of names to entries (sources, views or sinks) in file order.
// Entries whose name is not an identifier are decoded all the same, to report what else is
// wrong with them, but left out.
func entries[T any](d *decoder, n *yaml.Node, path, what string, decode func(name string, key, val *yaml.Node, path string) *T) []*T {
	pairs, ok := d.mapping(n, path, fmt.Sprintf("a mapping of %s names to %ss", what, what))
	if !ok {
		return nil
	}
	var out []*T
	for _, p := range pairs {
		if d.ctx.Err() != nil {
			return out
		}
		valid := isIdent(p.key)
		if !valid {
			d.errorf(p.keyNode, p.path, "%q is not a valid %s name: use %s", p.key, what, identRule)
			d.badNames[p.key] = true
		}
		if e := decode(p.key, p.keyNode, p.val, p.path); e != nil && valid {
			out = append(out, e)
		}
	}
	return out
}

// field says how to decode the value of one key of a mapping into a T.
type field[T any] struct {
	// only lists the kinds of entry that take the key; empty means every kind.
	only []string
	set  func(d *decoder, into *T, n *yaml.Node, path string)
}

// decodeFields decodes the pairs of a mapping into `into` by the table of its keys. Unknown
// keys are errors that suggest the closest known key. kind is the entry's kind, checked
// against each field's only list, or "" when the kind is unknown or there are no kinds; what
// names the entry in messages ("source").
func decodeFields[T any](d *decoder, into *T, pairs []pair, path string, table map[string]field[T], kind, what string) {
	var names []string
	for _, p := range pairs {
		f, ok := table[p.key]
		if !ok {
			if names == nil {
				names = applicable(table, kind)
			}
			if hint := spelling.DidYouMean(p.key, names); hint != "" {
				d.errorf(p.keyNode, p.path, "unknown key%s", hint)
			} else {
				d.errorf(p.keyNode, p.path, "unknown key (known: %s)", strings.Join(names, ", "))
			}
			continue
		}
		if kind != "" && len(f.only) > 0 && !slices.Contains(f.only, kind) {
			d.errorf(p.keyNode, p.path, "%s %ss take no %s (it is for %s %ss)", kind, what, p.key, orList(f.only), what)
			continue
		}
		f.set(d, into, p.val, p.path)
	}
}

// kinds lists kinds as the strings a field's only list holds.
func kinds[S ~string](ks ...S) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// applicable returns the sorted keys of a table that an entry of the kind takes (all of them
// when the kind is unknown).
func applicable[T any](table map[string]field[T], kind string) []string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(table)) {
		if f := table[name]; kind == "" || len(f.only) == 0 || slices.Contains(f.only, kind) {
			names = append(names, name)
		}
	}
	return names
}

// pair is one key and value of a mapping.
type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
	path    string // the value's key path
}

// mapping returns the pairs of the mapping at n in file order, after merging `<<` keys (keys
// written beside a merge win over merged ones). A null value is an empty mapping. Duplicate
// keys are errors. It records an error and returns false when n is not a mapping; want
// describes what it should be.
func (d *decoder) mapping(n *yaml.Node, path, want string) ([]pair, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be %s", want)
		return nil, false
	}
	var out []pair
	index := make(map[string]int)          // key -> its pair in out
	written := make(map[string]*yaml.Node) // key -> where it was first written in this mapping
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			for _, m := range d.merged(v, path) {
				if _, ok := index[m.key]; !ok {
					index[m.key] = len(out)
					out = append(out, m)
				}
			}
			continue
		}
		kd := deref(k)
		if kd.Kind != yaml.ScalarNode || isNull(kd) || kd.Value == "" {
			d.errorf(k, path, "keys must be non-empty strings")
			continue
		}
		key := kd.Value
		p := pair{key: key, keyNode: k, val: v, path: joinPath(path, key)}
		if first, dup := written[key]; dup {
			if strings.HasSuffix(path, ".select") {
				d.errorf(k, p.path, "the select names two columns %s (the first at line %d): give each its own name", key, first.Line)
			} else {
				d.errorf(k, p.path, "duplicate key (first at line %d)", first.Line)
			}
			continue
		}
		if prev := deref(n.Content[max(i-1, 0)]).Value; n.Style&yaml.FlowStyle != 0 && i > 0 && isNull(v) && v.Value == "" {
			prevKey := n.Content[i-2].Value
			switch {
			case strings.Count(prev, "(") == strings.Count(prev, ")"):
				// {tumble: 1m, 5m}: the comma ended the value 1m and made 5m a key.
				d.errorf(k, p.path, "%q has no value: inside {...} a comma starts another key, so %s is read as a key of its own "+
					"(write it as key: value, or quote a value that holds a comma, %s: \"%s, %s\")",
					key, key, prevKey, prev, key)
			case !strings.HasSuffix(path, ".columns"): // a type cut there is explained where types are read
				// {p99: quantile(amount, 0.99)}: the comma cut the call in two.
				d.errorf(n.Content[i-2], joinPath(path, prevKey), "%q is cut at a comma: inside {...} a comma ends a value, so quote it: %s: \"%s, %s\"",
					prev, prevKey, prev, key)
				if len(out) > 0 && out[len(out)-1].key == prevKey {
					out = out[:len(out)-1] // its half is not worth a second error
					delete(index, prevKey)
				}
			}
			continue
		}
		written[key] = k
		d.at[p.path] = d.pos(k)
		if j, ok := index[key]; ok {
			out[j] = p
		} else {
			index[key] = len(out)
			out = append(out, p)
		}
	}
	return out, true
}

// merged returns the pairs a `<<` key merges: those of one mapping, or of a list of
// mappings where earlier ones win.
func (d *decoder) merged(v *yaml.Node, path string) []pair {
	const want = "a mapping or a list of mappings to merge"
	v = deref(v)
	var srcs []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		srcs = []*yaml.Node{v}
	case yaml.SequenceNode:
		srcs = v.Content
	default:
		d.errorf(v, joinPath(path, "<<"), "must be %s", want)
		return nil
	}
	var out []pair
	seen := make(map[string]bool)
	for _, src := range srcs {
		pairs, ok := d.merges[deref(src)]
		if !ok {
			// Each mapping is read once however often it is merged, so that nested merges
			// of aliases cannot blow up.
			pairs, _ = d.mapping(src, joinPath(path, "<<"), want)
			d.merges[deref(src)] = pairs
		}
		for _, p := range pairs {
			if !seen[p.key] {
				seen[p.key] = true
				p.path = joinPath(path, p.key)
				d.at[p.path] = d.pos(p.keyNode)
				out = append(out, p)
			}
		}
	}
	return out
}

// item is one element of a list value.
type item struct {
	node *yaml.Node
	path string
}

// list returns the items of the sequence at n. A single scalar is a list of one, so that
// `from: tx` and `from: [tx]` mean the same. An empty list is an error.
func (d *decoder) list(n *yaml.Node, path, want string) ([]item, bool) {
	n = deref(n)
	switch {
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0, isNull(n):
		d.errorf(n, path, "is empty; want %s", want)
		return nil, false
	case n.Kind == yaml.ScalarNode:
		return []item{{n, path}}, true
	case n.Kind != yaml.SequenceNode:
		d.errorf(n, path, "must be %s", want)
		return nil, false
	}
	items := make([]item, len(n.Content))
	for i, c := range n.Content {
		items[i] = item{c, fmt.Sprintf("%s[%d]", path, i)}
		d.at[items[i].path] = d.pos(c)
	}
	return items, true
}

// str returns the scalar at n with variables expanded. It records an error and returns false
// when n is not a scalar, is empty, or refers to an unset variable.
func (d *decoder) str(n *yaml.Node, path, want string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "must be %s", want)
		return "", false
	}
	if isNull(n) {
		d.errorf(n, path, "is empty; want %s", want)
		return "", false
	}
	v, err := expand(n.Value, d.env)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return "", false
	}
	if strings.TrimSpace(v) == "" {
		d.errorf(n, path, "is empty; want %s", want)
		return "", false
	}
	return v, true
}

// ident returns the scalar at n if it is an identifier.
func (d *decoder) ident(n *yaml.Node, path, want string) (string, bool) {
	v, ok := d.str(n, path, want)
	if ok && !isIdent(v) {
		d.errorf(n, path, "%q is not %s: use %s", v, want, identRule)
		return "", false
	}
	return v, ok
}

// enum returns the scalar at n if it is one of values; what names the set in messages.
// splitKind takes the required kind key out of an entry's pairs: the kind decides which
// other keys apply, so it is decoded first. It returns the kind ("" when missing or bad) and
// the other pairs; what names the entry in messages ("source", "sink").
func splitKind[S ~string](d *decoder, key *yaml.Node, path, what string, pairs []pair, kinds []S) (S, []pair) {
	var kind S
	hasKind := false
	rest := pairs[:0:0]
	for _, p := range pairs {
		if p.key != "kind" {
			rest = append(rest, p)
			continue
		}
		hasKind = true
		kind, _ = enum(d, p.val, p.path, what+" kind", kinds)
	}
	if !hasKind {
		d.errorf(key, path, "kind is required (%s)", orList(kinds))
	}
	return kind, rest
}

func enum[S ~string](d *decoder, n *yaml.Node, path, what string, values []S) (S, bool) {
	v, ok := d.str(n, path, fmt.Sprintf("a %s (%s)", what, orList(values)))
	if !ok {
		return "", false
	}
	if slices.Contains(values, S(v)) {
		return S(v), true
	}
	names := make([]string, len(values))
	for i, s := range values {
		names[i] = string(s)
	}
	if hint := spelling.DidYouMean(v, names); hint != "" {
		d.errorf(n, path, "unknown %s %q%s", what, v, hint)
	} else {
		d.errorf(n, path, "unknown %s %q (want %s)", what, v, orList(values))
	}
	return "", false
}

// duration returns the duration at n; negative durations are errors.
func (d *decoder) duration(n *yaml.Node, path string) (time.Duration, bool) {
	v, ok := d.str(n, path, "a duration such as 5s, 10m or 1d")
	if !ok {
		return 0, false
	}
	dur, err := ParseDuration(v)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return 0, false
	}
	if dur < 0 {
		d.errorf(n, path, "%s is negative; a duration here must not be", v)
		return 0, false
	}
	return dur, true
}

// integer returns the whole number at n (decimal, or 0x, 0o, 0b with _ between digits).
func (d *decoder) integer(n *yaml.Node, path string) (int64, bool) {
	v, ok := d.str(n, path, "a whole number")
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(strings.TrimSpace(v), 0, 64)
	if err != nil {
		d.errorf(n, path, "%q is not a whole number", v)
		return 0, false
	}
	return i, true
}

// number returns the finite number at n.
func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	v, ok := d.str(n, path, "a number")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.errorf(n, path, "%q is not a number", v)
		return 0, false
	}
	return f, true
}

// boolean returns the true or false at n.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	v, ok := d.str(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	d.errorf(n, path, "%q is not true or false", v)
	return false, false
}

// expr returns the expression at n, not parsed, with where its text starts.
func (d *decoder) expr(n *yaml.Node, path string) (Expr, bool) {
	v, ok := d.str(n, path, "an expression string")
	if !ok {
		return Expr{}, false
	}
	return Expr{Text: strings.TrimSpace(v), Path: path, Pos: d.textPos(deref(n))}, true
}

// exprs returns the expressions of a list (or the single expression) at n.
func (d *decoder) exprs(n *yaml.Node, path, want string) []Expr {
	items, _ := d.list(n, path, want)
	var out []Expr
	for _, it := range items {
		if e, ok := d.expr(it.node, it.path); ok {
			out = append(out, e)
		}
	}
	return out
}

// textPos returns where the text of scalar n begins: past the opening quote of a quoted
// scalar, and on the first content line of a block scalar (| or >).
func (d *decoder) textPos(n *yaml.Node) Pos {
	p := d.pos(n)
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		p.Column++
	case yaml.LiteralStyle, yaml.FoldedStyle:
		for l := n.Line; l < len(d.lines); l++ { // d.lines[l] is line l+1
			if text := d.lines[l]; strings.TrimSpace(text) != "" {
				p.Line, p.Column = l+1, len(text)-len(strings.TrimLeft(text, " \t"))+1
				break
			}
		}
	}
	return p
}

// deref follows aliases to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is absent or YAML null (~, null, or nothing).
func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// isEmpty reports whether n is null or an empty mapping or sequence.
func isEmpty(n *yaml.Node) bool {
	n = deref(n)
	return isNull(n) || (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0
}

// joinPath appends a key to a key path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parentPath removes the last key or index from a key path.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// orList formats values as "a, b or c".
func orList[S ~string](values []S) string {
	var b strings.Builder
	for i, v := range values {
		switch {
		case i == 0:
		case i == len(values)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(v))
	}
	return b.String()
}
