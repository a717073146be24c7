package spec

import (
	"slices"
	"strings"
)

// Inputs returns the streams the view called name reads, as its from: lists them (sources,
// views and side streams; several are a union). It returns nil for a name that is not a
// view: sources read nothing, and a sink's input is its From.
func (s *Spec) Inputs(name string) []string {
	if v := s.View(name); v != nil {
		return slices.Clone(v.From)
	}
	return nil
}

// Order returns the names of the views in a topological order: every view comes after the
// views it reads. Among views whose inputs are all placed, the one written first goes first,
// so the order is the file's whenever the file's order is already topological, and the same
// spec always gives the same order. (Parse refuses cycles; were there one, the views it holds
// back would come last, in file order.)
func (s *Spec) Order() []string {
	deps := s.viewDeps()
	placed := make(map[string]bool, len(s.Views))
	out := make([]string, 0, len(s.Views))
	for len(out) < len(s.Views) {
		next := slices.IndexFunc(s.Views, func(v *View) bool {
			return !placed[v.Name] && !slices.ContainsFunc(deps[v.Name], func(dep string) bool { return !placed[dep] })
		})
		if next < 0 {
			for _, v := range s.Views {
				if !placed[v.Name] {
					out = append(out, v.Name)
				}
			}
			break
		}
		placed[s.Views[next].Name] = true
		out = append(out, s.Views[next].Name)
	}
	return out
}

// viewDeps maps each view to the views it reads, each once, in from: order. A name that is
// both a source and a view (an error Parse reports) counts as the source.
func (s *Spec) viewDeps() map[string][]string {
	deps := make(map[string][]string, len(s.Views))
	for _, v := range s.Views {
		for _, ref := range v.From {
			name, side := SplitRef(ref)
			if (side == "" || side == ErrorRows) && s.Source(name) == nil && s.View(name) != nil && !slices.Contains(deps[v.Name], name) {
				deps[v.Name] = append(deps[v.Name], name)
			}
		}
	}
	return deps
}

// cycles reports one cycle for each knot of views that read each other, in the direction
// data flows: "a -> b -> a" means b reads a and a reads b. The cycle starts at the knot's view
// written first and is the shortest way back to it.
func (d *decoder) cycles(s *Spec) {
	deps := s.viewDeps()
	// readers[x] lists the views that read x, in file order.
	readers := make(map[string][]string, len(s.Views))
	for _, v := range s.Views {
		for _, dep := range deps[v.Name] {
			readers[dep] = append(readers[dep], v.Name)
		}
	}
	reported := make(map[string]bool)
	for _, v := range s.Views {
		if reported[v.Name] {
			continue
		}
		cycle := shortestCycle(v.Name, readers)
		if cycle == nil {
			continue
		}
		// One cycle per strongly connected group of views is enough: every view that both
		// reaches v and is reached from it is in the same knot.
		down, up := reachable(v.Name, readers), reachable(v.Name, deps)
		for name := range down {
			if up[name] {
				reported[name] = true
			}
		}
		d.errs = append(d.errs, newError(v.Pos, "views", "cycle %s -> %s: a view cannot read its own output", strings.Join(cycle, " -> "), v.Name))
	}
}

// reachable returns the views reachable from start along edges, start included.
func reachable(start string, edges map[string][]string) map[string]bool {
	seen := map[string]bool{start: true}
	stack := []string{start}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, next := range edges[cur] {
			if !seen[next] {
				seen[next] = true
				stack = append(stack, next)
			}
		}
	}
	return seen
}

// shortestCycle returns the views on the shortest path from start back to itself along
// edges, start first, or nil when there is none.
func shortestCycle(start string, edges map[string][]string) []string {
	parent := map[string]string{start: ""}
	queue := []string{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, next := range edges[cur] {
			if next == start {
				var path []string
				for n := cur; n != ""; n = parent[n] {
					path = append(path, n)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := parent[next]; !seen {
				parent[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return nil
}
