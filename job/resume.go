package job

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"millrace/checkpoint"
	"millrace/plan"
	"millrace/spelling"
)

// advisorNode names the scaling advisor's state in a checkpoint; no step of a plan has a
// name with a slash.
const advisorNode = "scale/advisor"

// ErrChanged is returned when a run cannot go on from its checkpoint because what the
// checkpoint's state belongs to changed: a source or sink, or a view holding state that the
// user did not agree to reset.
var ErrChanged = errors.New("job: changed since the checkpoint")

// Resume is how a run goes on from a checkpoint, decided by PlanResume.
type Resume struct {
	// Checkpoint is the manifest the run goes on from.
	Checkpoint checkpoint.Manifest
	// Restore lists the steps whose state the run takes back, in name order.
	Restore []string
	// Reset lists the views that start with empty state because the user said so
	// (--reset-view), in name order.
	Reset []ViewReset
	// Redefined lists the steps without state whose definition changed: they go on under
	// the new definition and lose nothing.
	Redefined []string
	// Moved describes the steps whose parallelism changed, such as "per_card (2→3)": their
	// state is spread anew over the subtasks.
	Moved []string
	// Advisor is whether the checkpoint holds the scaling advisor's history.
	Advisor bool
}

// ViewReset is a view whose state a resumed run drops.
type ViewReset struct {
	View string
	// OpenAfter, when known, is the view's watermark at the checkpoint: its windows ending
	// after it were open, and miss the rows read before the checkpoint.
	OpenAfter *time.Time
}

// openWindows says which of the view's windows lose rows.
func (v ViewReset) openWindows() string {
	if v.OpenAfter == nil {
		return "its windows open at the checkpoint"
	}
	return "its windows ending after " + v.OpenAfter.UTC().Format(time.RFC3339)
}

// PlanResume decides how a run of p goes on from the checkpoint m. A step takes its
// state back when its fingerprint is unchanged. A changed source or sink is refused: its
// positions or files belong to another input or output. A view whose state would be lost
// (one of its steps changed, and held state) is refused too unless reset names it: the
// windows it had open would silently miss the rows read before the checkpoint. reset may
// also name an unchanged view, to drop its state on purpose. A step the plan no longer
// has is ignored, and so is another parallelism: the engine spreads the state anew.
func PlanResume(m checkpoint.Manifest, p *plan.Plan, reset []string) (Resume, error) {
	r := Resume{Checkpoint: m}
	resetting := map[string]bool{}
	for _, name := range reset {
		if !isView(p, name) {
			return Resume{}, fmt.Errorf("--reset-view %s: the spec has no view of that name%s", name, spelling.DidYouMean(name, viewNames(p)))
		}
		resetting[name] = true
	}
	lost := map[string]bool{}            // views whose state a change would lose
	openAfter := map[string]*time.Time{} // of each view, its least watermark at m
	for _, name := range slices.Sorted(maps.Keys(m.Nodes)) {
		node := m.Nodes[name]
		if name == advisorNode {
			r.Advisor = true
			continue
		}
		step, ok := p.Step(name)
		if !ok {
			continue
		}
		view, inView := p.ViewOf(name)
		if inView && node.Watermark != nil && (openAfter[view] == nil || node.Watermark.Before(*openAfter[view])) {
			openAfter[view] = node.Watermark
		}
		switch {
		case inView && resetting[view]:
			continue
		case node.Fingerprint == step.Fingerprint():
			r.Restore = append(r.Restore, name)
			if n := len(node.Parts); n != step.Parallelism {
				r.Moved = append(r.Moved, fmt.Sprintf("%s (%d→%d)", name, n, step.Parallelism))
			}
		case step.Kind == plan.KindSource || step.Kind == plan.KindSink:
			return Resume{}, fmt.Errorf("%w: %s %q changed since checkpoint %d: it cannot go on from there; --fresh starts over",
				ErrChanged, step.Kind, name, m.ID)
		case holdsState(node):
			lost[view] = true
		default:
			r.Redefined = append(r.Redefined, name)
		}
	}
	if len(lost) > 0 {
		views := slices.Sorted(maps.Keys(lost))
		var open []string
		for _, v := range views {
			open = append(open, ViewReset{View: v, OpenAfter: openAfter[v]}.openWindows()+" ("+v+")")
		}
		return Resume{}, fmt.Errorf("%w: %s changed since checkpoint %d and %s state: resumed, %s would start empty, and %s would miss every row read before the checkpoint. --reset-view %s accepts that; --fresh starts over from the beginning of the input",
			ErrChanged, quoteViews(views), m.ID, pick(len(views), "holds", "hold"), pick(len(views), "it", "they"), strings.Join(open, " and "), strings.Join(views, " --reset-view "))
	}
	for _, v := range slices.Sorted(maps.Keys(resetting)) {
		r.Reset = append(r.Reset, ViewReset{View: v, OpenAfter: openAfter[v]})
	}
	return r, nil
}

// holdsState tells whether any subtask of a step kept state at the checkpoint.
func holdsState(node checkpoint.Node) bool {
	return slices.ContainsFunc(node.Parts, func(p checkpoint.Part) bool { return p.Blob != "" })
}

func isView(p *plan.Plan, name string) bool {
	return slices.ContainsFunc(p.Views, func(v plan.ViewNodes) bool { return v.Name == name })
}

func viewNames(p *plan.Plan) []string {
	names := make([]string, len(p.Views))
	for i, v := range p.Views {
		names[i] = v.Name
	}
	return names
}

// quoteViews names views for a sentence: `view "a"`, `views "a" and "b"`.
func quoteViews(views []string) string {
	q := make([]string, len(views))
	for i, v := range views {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return "view " + q[0]
	}
	return "views " + strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// pick returns one for a count of 1, else many.
func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
