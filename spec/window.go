package spec

import (
	"millrace/spelling"
	"time"

	"go.yaml.in/yaml/v3"
)

// window decodes `{tumble: 1m}`, `{hop: 10m, every: 1m}` (with `panes: true` to slice it)
// or `{session: 30m}`. It returns nil when the window is unusable.
func (d *decoder) window(n *yaml.Node, path string) *Window {
	const want = "a mapping such as {tumble: 1m}, {hop: 10m, every: 1m} or {session: 30m}"
	pairs, ok := d.mapping(n, path, want)
	if !ok {
		return nil
	}
	w := &Window{Pos: d.pos(deref(n))}
	if at, ok := d.at[path]; ok {
		w.Pos = at
	}
	var kinds []pair
	var every, panes *pair
	valid := true
	for _, p := range pairs {
		switch p.key {
		case string(Tumble), string(Hop), string(Session):
			kinds = append(kinds, p)
		case "every":
			every = &p
		case "panes":
			panes = &p
		default:
			valid = false
			d.errorf(p.keyNode, p.path, "unknown key%s", orDefault(spelling.DidYouMean(p.key, []string{"tumble", "hop", "session", "every", "panes"}), " (want tumble, hop or session, and every and panes for hop)"))
		}
	}
	switch len(kinds) {
	case 0:
		if valid {
			d.errorf(n, path, "must be %s", want)
		}
		return nil
	case 1:
	default:
		d.errorf(kinds[1].keyNode, kinds[1].path, "a window is one of tumble, hop or session, not both %s and %s", kinds[0].key, kinds[1].key)
		return nil
	}
	k := kinds[0]
	w.Kind = WindowKind(k.key)
	size, ok := d.duration(k.val, k.path)
	if ok && size == 0 {
		d.errorf(k.val, k.path, "must be longer than 0")
		ok = false
	}
	valid = valid && ok
	if w.Kind == Session {
		w.Gap = size
	} else {
		w.Size = size
	}
	switch {
	case w.Kind != Hop && every != nil:
		d.errorf(every.keyNode, every.path, "every is for hop windows; a %s window takes none", w.Kind)
		return nil
	case w.Kind == Hop && every == nil:
		d.errorf(k.keyNode, k.path, "needs every (how often a window starts), as in {hop: 10m, every: 1m}")
		return nil
	case w.Kind == Hop:
		e, eok := d.duration(every.val, every.path)
		if !eok || !ok {
			return nil
		}
		if e == 0 {
			d.errorf(every.val, every.path, "must be longer than 0")
			return nil
		}
		if e >= size {
			d.errorf(every.val, every.path, "every %s must be shorter than the hop size %s (a hop every %s is {tumble: %s})", short(e), short(size), short(size), short(size))
			return nil
		}
		if size%e != 0 {
			d.errorf(every.val, every.path, "the hop size %s is not a multiple of every %s", short(size), short(e))
			return nil
		}
		w.Every = e
	}
	if panes != nil {
		if w.Kind != Hop {
			d.errorf(panes.keyNode, panes.path, "panes is for hop windows; a %s window takes none", w.Kind)
			return nil
		}
		on, ok := d.boolean(panes.val, panes.path)
		valid = valid && ok
		w.Panes = on
	}
	if !valid {
		return nil
	}
	return w
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// short formats a duration without zero parts: 10m rather than 10m0s.
func short(d time.Duration) string {
	s := d.String()
	for _, zero := range []struct{ suffix, trim string }{{"m0s", "0s"}, {"h0m", "0m"}} {
		if len(s) > len(zero.suffix) && s[len(s)-len(zero.suffix):] == zero.suffix {
			s = s[:len(s)-len(zero.trim)]
		}
	}
	return s
}
