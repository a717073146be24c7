package spec

import (
	"testing"
	"time"
)

func TestWindows(t *testing.T) {
	tests := []struct {
		text string
		want Window
	}{
		{"{tumble: 1m}", Window{Kind: Tumble, Size: time.Minute}},
		{"{tumble: 1d}", Window{Kind: Tumble, Size: 24 * time.Hour}},
		{"{hop: 10m, every: 1m}", Window{Kind: Hop, Size: 10 * time.Minute, Every: time.Minute}},
		{"{every: 30s, hop: 1m}", Window{Kind: Hop, Size: time.Minute, Every: 30 * time.Second}},
		{"{hop: 10s, every: 2s, panes: true}", Window{Kind: Hop, Size: 10 * time.Second, Every: 2 * time.Second, Panes: true}},
		{"{hop: 10s, every: 2s, panes: false}", Window{Kind: Hop, Size: 10 * time.Second, Every: 2 * time.Second}},
		{"{session: 30m}", Window{Kind: Session, Gap: 30 * time.Minute}},
	}
	for _, tt := range tests {
		s := mustParse(t, head+"views:\n  v:\n    from: tx\n    window: "+tt.text+"\n")
		w := s.View("v").Window
		tt.want.Pos = Pos{"t.yaml", 7, 5}
		if w == nil || *w != tt.want {
			t.Errorf("window %s = %+v, want %+v", tt.text, w, tt.want)
		}
	}
}

func TestWindowErrors(t *testing.T) {
	view := func(w string) string { return head + "views:\n  v:\n    from: tx\n    window: " + w + "\n" }
	checkErrors(t, []errorCase{
		{"scalar", view("tumble 1m"), []string{
			"t.yaml:7: views.v.window: must be a mapping such as {tumble: 1m}, {hop: 10m, every: 1m} or {session: 30m}",
		}},
		{"no kind", view("{}"), []string{
			"t.yaml:7: views.v.window: must be a mapping such as {tumble: 1m}, {hop: 10m, every: 1m} or {session: 30m}",
		}},
		{"misspelt kind", view("{tumbel: 1m}"), []string{
			`t.yaml:7: views.v.window.tumbel: unknown key (did you mean "tumble"?)`,
		}},
		{"unknown key", view("{tumble: 1m, offset: 5s}"), []string{
			"t.yaml:7: views.v.window.offset: unknown key (want tumble, hop or session, and every and panes for hop)",
		}},
		{"panes on tumble", view("{tumble: 1m, panes: true}"), []string{
			"t.yaml:7: views.v.window.panes: panes is for hop windows; a tumble window takes none",
		}},
		{"panes not a boolean", view("{hop: 1m, every: 10s, panes: 6}"), []string{
			"t.yaml:7: views.v.window.panes: \"6\" is not true or false",
		}},
		{"zero size", view("{session: 0}"), []string{
			"t.yaml:7: views.v.window.session: must be longer than 0",
		}},
		{"bare number", view("{tumble: 60}"), []string{
			"t.yaml:7: views.v.window.tumble: 60 needs a unit, as in 60s or 60ms",
		}},
		{"zero every", view("{hop: 1m, every: 0s}"), []string{
			"t.yaml:7: views.v.window.every: must be longer than 0",
		}},
		{"every longer", view("{hop: 1m, every: 1h}"), []string{
			"t.yaml:7: views.v.window.every: every 1h must be shorter than the hop size 1m (a hop every 1m is {tumble: 1m})",
		}},
		{"every on session", view("{session: 5m, every: 1m}"), []string{
			"t.yaml:7: views.v.window.every: every is for hop windows; a session window takes none",
		}},
		{"hop and tumble", view("{hop: 10m, every: 1m, tumble: 1m}"), []string{
			"t.yaml:7: views.v.window.tumble: a window is one of tumble, hop or session, not both hop and tumble",
		}},
	})
}
