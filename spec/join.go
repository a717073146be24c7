package spec

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// checkJoin checks the keys a join has together: a table or a stream, never both; within
// only, and always, with a stream; right and full only with a stream. It sets the default
// type.
func (d *decoder) checkJoin(j *Join, n *yaml.Node, has map[string]*yaml.Node, path string) {
	if has["on"] == nil {
		d.errorf(n, path, "on is required: the key column, or a list of them")
	}
	switch {
	case has["table"] != nil && has["stream"] != nil:
		d.errorf(has["stream"], joinPath(path, "stream"), "cannot be combined with table: join a table source (lookup) or a stream (interval), not both")
	case has["table"] == nil && has["stream"] == nil:
		d.errorf(n, path, "table or stream is required: the table source to look rows up in, or the source or view to join in an interval of event time")
	case has["stream"] != nil:
		d.checkStreamJoin(j, n, has, path)
	default:
		for _, k := range streamJoinKinds {
			if w := has[k]; w != nil {
				d.errorf(w, joinPath(path, k), "applies to a join with a stream; a table is joined by key alone")
			}
		}
		if j.Type == RightJoin || j.Type == FullJoin {
			d.errorf(has["type"], joinPath(path, "type"), "%s needs a join with a stream; a lookup join is left or inner", j.Type)
		}
		if j.Type == "" {
			j.Type = LeftJoin
		}
	}
}

// streamJoinKinds are the keys that say how a join with a stream pairs rows, one of which
// it takes.
var streamJoinKinds = []string{"within", "window", "ttl", "as_of"}

// checkStreamJoin checks a join with a stream: exactly one of within, window, ttl and as_of;
// a window of tumble or hop; a ttl longer than 0; as_of true; inner only with ttl, inner or
// left with as_of. It sets the default type, inner.
func (d *decoder) checkStreamJoin(j *Join, n *yaml.Node, has map[string]*yaml.Node, path string) {
	var given []string
	for _, k := range streamJoinKinds {
		if has[k] != nil {
			given = append(given, k)
		}
	}
	switch len(given) {
	case 0:
		d.errorf(n, path, "within, window, ttl or as_of is required with stream: within: [lower, upper] for an interval of event time (such as [0s, 72h]), window: {tumble: D} for rows of one window, ttl: D for a regular join, or as_of: true for the version valid at each row's time")
	case 1:
	default:
		d.errorf(has[given[1]], joinPath(path, given[1]), "cannot be combined with %s: a join with a stream pairs rows by one of within, window, ttl or as_of", given[0])
	}
	if j.Type == "" {
		j.Type = InnerJoin
	}
	if w := has["window"]; w != nil && j.Window != nil && j.Window.Kind == Session {
		d.errorf(w, joinPath(path, "window"), "a join's window is tumble or hop, not session")
	}
	if j.Until != "" && j.Type != InnerJoin && j.Type != RightJoin {
		d.errorf(has["type"], joinPath(path, "type"), "a join whose upper bound is the column %s is inner or right, not %s", j.Until, j.Type)
	}
	if t := has["ttl"]; t != nil {
		if j.TTL <= 0 {
			d.errorf(t, joinPath(path, "ttl"), "must be longer than 0")
		}
		if j.Type != InnerJoin {
			d.errorf(has["type"], joinPath(path, "type"), "a join with ttl is inner: its outer rows would need retracting once a partner comes")
		}
	}
	if a := has["as_of"]; a != nil {
		if !j.AsOf {
			d.errorf(a, joinPath(path, "as_of"), "is true or left out: false says nothing")
		}
		if j.Type != InnerJoin && j.Type != LeftJoin {
			d.errorf(has["type"], joinPath(path, "type"), "a join with as_of is inner or left, not %s: the stream's rows are versions of a table, joined by the input's rows", j.Type)
		}
	}
}

// within decodes `[lower, upper]`, two durations (negative ones allowed) with lower <= upper;
// the upper bound may instead name a column of the input, which it returns as until.
func (d *decoder) within(n *yaml.Node, path string) ([2]time.Duration, string, bool) {
	var out [2]time.Duration
	const want = "[lower, upper], such as [0s, 72h] or [-5m, 5m], or [lower, COLUMN] such as [0s, expires]"
	items, ok := d.list(n, path, want)
	if !ok {
		return out, "", false
	}
	if len(items) != 2 {
		d.errorf(n, path, "has %d durations; want two, %s", len(items), want)
		return out, "", false
	}
	until := ""
	for i, it := range items {
		v, ok := d.str(it.node, it.path, "a duration such as 0s, 72h or -5m")
		if !ok {
			return out, "", false
		}
		dur, err := ParseDuration(v)
		if err != nil && i == 1 && isIdent(v) && !startsWithDigit(v) {
			until = v // a column of the input's rows: the latest time a stream row may have
			continue
		}
		if err != nil && isIdent(v) && !startsWithDigit(v) {
			d.errorf(it.node, it.path, "%q: the lower bound is a duration; only the upper bound may name a column of the input", v)
			return out, "", false
		}
		if err != nil {
			d.errorf(it.node, it.path, "%v", err)
			return out, "", false
		}
		out[i] = dur
	}
	if until == "" && out[0] > out[1] {
		d.errorf(n, path, "lower bound %s is above upper bound %s", out[0], out[1])
		return out, "", false
	}
	return out, until, true
}

// startsWithDigit reports whether s starts with a digit or a sign, as a duration does.
func startsWithDigit(s string) bool {
	return s != "" && (s[0] >= '0' && s[0] <= '9' || s[0] == '-' || s[0] == '+')
}
