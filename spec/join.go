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
		if has["within"] == nil {
			d.errorf(n, path, "within is required with stream: [lower, upper], the bounds of the stream's event time minus the input's, such as [0s, 72h]")
		}
		if j.Type == "" {
			j.Type = InnerJoin
		}
	default:
		if w := has["within"]; w != nil {
			d.errorf(w, joinPath(path, "within"), "applies to a join with a stream; a table is joined by key alone")
		}
		if j.Type == RightJoin || j.Type == FullJoin {
			d.errorf(has["type"], joinPath(path, "type"), "%s needs a join with a stream; a lookup join is left or inner", j.Type)
		}
		if j.Type == "" {
			j.Type = LeftJoin
		}
	}
}

// within decodes `[lower, upper]`, two durations (negative ones allowed) with lower <= upper.
func (d *decoder) within(n *yaml.Node, path string) ([2]time.Duration, bool) {
	var out [2]time.Duration
	items, ok := d.list(n, path, "[lower, upper], such as [0s, 72h] or [-5m, 5m]")
	if !ok {
		return out, false
	}
	if len(items) != 2 {
		d.errorf(n, path, "has %d durations; want two, [lower, upper], such as [0s, 72h] or [-5m, 5m]", len(items))
		return out, false
	}
	for i, it := range items {
		v, ok := d.str(it.node, it.path, "a duration such as 0s, 72h or -5m")
		if !ok {
			return out, false
		}
		dur, err := ParseDuration(v)
		if err != nil {
			d.errorf(it.node, it.path, "%v", err)
			return out, false
		}
		out[i] = dur
	}
	if out[0] > out[1] {
		d.errorf(n, path, "lower bound %s is above upper bound %s", out[0], out[1])
		return out, false
	}
	return out, true
}
