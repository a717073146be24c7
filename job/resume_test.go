package job

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"millrace/checkpoint"
	"millrace/plan"
)

// manifestOf is a checkpoint of p in which every step kept state in each subtask, but for
// the steps named stateless.
func manifestOf(p *plan.Plan, stateless ...string) checkpoint.Manifest {
	m := checkpoint.Manifest{ID: 7, Nodes: map[string]checkpoint.Node{}}
	for _, st := range p.Steps {
		node := checkpoint.Node{Kind: string(st.Kind), Fingerprint: st.Fingerprint()}
		for sub := range st.Parallelism {
			part := checkpoint.Part{Subtask: sub}
			if !slices.Contains(stateless, st.Name) {
				part.Blob = st.Name
			}
			node.Parts = append(node.Parts, part)
		}
		if v, ok := p.ViewOf(st.Name); ok && v == "per_card" {
			node.Watermark = &perCardWatermark
		}
		m.Nodes[st.Name] = node
	}
	return m
}

// perCardWatermark is the watermark of view per_card in manifestOf's checkpoints.
var perCardWatermark = time.Date(2026, 3, 2, 10, 4, 0, 0, time.UTC)

func TestPlanResume(t *testing.T) {
	dir := t.TempDir()
	oneMinute, twoMinutes := testPlan(t, dir, "{tumble: 1m}"), testPlan(t, dir, "{tumble: 2m}")
	changedSource := manifestOf(oneMinute)
	tx := changedSource.Nodes["tx"]
	tx.Fingerprint = "another input"
	changedSource.Nodes["tx"] = tx
	redefined := manifestOf(oneMinute, "big")
	big := redefined.Nodes["big"]
	big.Fingerprint = "another filter"
	redefined.Nodes["big"] = big
	for _, c := range []struct {
		name    string
		m       checkpoint.Manifest
		p       *plan.Plan
		reset   []string
		restore []string // nil: every step of the manifest
		resetTo []string
		redef   []string
		refuse  string // in the error; empty when it resumes
	}{
		{name: "unchanged", m: manifestOf(oneMinute), p: oneMinute},
		{name: "a changed view with state is refused", m: manifestOf(oneMinute), p: twoMinutes,
			refuse: `view "per_card" changed since checkpoint 7 and holds state: resumed, it would start empty`},
		{name: "the refusal names the way out", m: manifestOf(oneMinute), p: twoMinutes, refuse: "--reset-view per_card accepts that"},
		{name: "the refusal names the windows", m: manifestOf(oneMinute), p: twoMinutes,
			refuse: "its windows ending after 2026-03-02T10:04:00Z (per_card) would miss every row read before the checkpoint"},
		{name: "reset accepts the loss", m: manifestOf(oneMinute), p: twoMinutes, reset: []string{"per_card"},
			restore: []string{"big", "sink.big_out", "sink.per_card_out", "tx"}, resetTo: []string{"per_card"}},
		{name: "reset drops an unchanged view's state too", m: manifestOf(oneMinute), p: oneMinute, reset: []string{"per_card"},
			restore: []string{"big", "sink.big_out", "sink.per_card_out", "tx"}, resetTo: []string{"per_card"}},
		{name: "a changed view without state goes on", m: redefined, p: oneMinute,
			restore: []string{"per_card", "per_card.partial", "sink.big_out", "sink.per_card_out", "tx"}, redef: []string{"big"}},
		{name: "a changed source is refused", m: changedSource, p: oneMinute, refuse: `source "tx" changed since checkpoint 7`},
		{name: "an unknown view to reset", m: manifestOf(oneMinute), p: oneMinute, reset: []string{"per_crad"},
			refuse: `--reset-view per_crad: the spec has no view of that name (did you mean "per_card"?)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := PlanResume(c.m, c.p, c.reset)
			if c.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), c.refuse) {
					t.Fatalf("got %v, want an error with %q", err, c.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			restore := c.restore
			if restore == nil {
				for name := range c.m.Nodes {
					restore = append(restore, name)
				}
			}
			slices.Sort(restore)
			var reset []string
			for _, v := range r.Reset {
				reset = append(reset, v.View)
				if v.OpenAfter == nil || !v.OpenAfter.Equal(perCardWatermark) || v.openWindows() != "its windows ending after 2026-03-02T10:04:00Z" {
					t.Errorf("view %s: open after %v", v.View, v.OpenAfter)
				}
			}
			if !slices.Equal(r.Restore, restore) || !slices.Equal(reset, c.resetTo) || !slices.Equal(r.Redefined, c.redef) {
				t.Errorf("restore %v reset %v redefined %v, want %v, %v, %v", r.Restore, reset, r.Redefined, restore, c.resetTo, c.redef)
			}
		})
	}
	if _, err := PlanResume(manifestOf(oneMinute), twoMinutes, nil); !errors.Is(err, ErrChanged) {
		t.Errorf("a refusal is not ErrChanged: %v", err)
	}
}

// TestAOnePhaseHopCheckpointIsRefused resumes, with the hopping windows now sliced into
// panes (`panes: true`), a checkpoint of the plan that aggregated them in one phase: its raw
// rows went through the exchange (per_card.prepare) and per_card folded each into its
// windows. The final phase merges panes instead, its step's fingerprint differs, and the
// view's windows are refused with the way out, not restored into a step that reads other
// input.
func TestAOnePhaseHopCheckpointIsRefused(t *testing.T) {
	dir := t.TempDir()
	onePhase := testPlan(t, dir, "{hop: 1m, every: 10s}")
	m := manifestOf(onePhase, "per_card.prepare")
	p := testPlan(t, dir, "{hop: 1m, every: 10s, panes: true}")
	_, err := PlanResume(m, p, nil)
	if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), `view "per_card" changed since checkpoint 7 and holds state`) ||
		!strings.Contains(err.Error(), "--reset-view per_card accepts that") {
		t.Fatalf("got %v, want the view refused", err)
	}
	r, err := PlanResume(m, p, []string{"per_card"})
	if err != nil || !slices.Equal(r.Restore, []string{"big", "sink.big_out", "sink.per_card_out", "tx"}) {
		t.Fatalf("with --reset-view per_card: restore %v, %v", r.Restore, err)
	}
}
