package job

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

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
	Reset []string
	// Redefined lists the steps without state whose definition changed: they go on under
	// the new definition and lose nothing.
	Redefined []string
	// Moved describes the steps whose parallelism changed, such as "per_card (2→3)": their
	// state is spread anew over the subtasks.
	Moved []string
	// Advisor is whether the checkpoint holds the scaling advisor's history.
	Advisor bool
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
	lost := map[string]bool{} // views whose state a change would lose
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
		return Resume{}, fmt.Errorf("%w: %s changed since checkpoint %d and %s state: resumed, %s would start empty, and the windows open at the checkpoint would miss every row read before it. --reset-view %s accepts that; --fresh starts over from the beginning of the input",
			ErrChanged, quoteViews(views), m.ID, pick(len(views), "holds", "hold"), pick(len(views), "it", "they"), strings.Join(views, " --reset-view "))
	}
	r.Reset = slices.Sorted(maps.Keys(resetting))
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
