package spec

import (
	"container/heap"
	"slices"
	"strings"
)

// Inputs returns the streams the view called name reads, as its from: lists them (sources,
// views and side streams; several are a union), then the stream it joins, if any. It
// returns nil for a name that is not a view: sources read nothing, and a sink's input is its
// From.
func (s *Spec) Inputs(name string) []string {
	if v := s.View(name); v != nil {
		return v.inputs()
	}
	return nil
}

// inputs lists the streams the view reads: from:, then a joined stream.
func (v *View) inputs() []string {
	in := slices.Clone(v.From)
	if v.Join != nil && v.Join.Stream != "" {
		in = append(in, v.Join.Stream)
	}
	return in
}

// Order returns the names of the views in a topological order: every view comes after the
// views it reads. Among views whose inputs are all placed, the one written first goes first,
// so the order is the file's whenever the file's order is already topological, and the same
// spec always gives the same order. (Parse refuses cycles; were there one, the views it holds
// back would come last, in file order.)
func (s *Spec) Order() []string {
	deps := s.viewDeps()
	at := make(map[string]int, len(s.Views)) // a view's place in the file
	for i, v := range s.Views {
		if _, dup := at[v.Name]; !dup {
			at[v.Name] = i
		}
	}
	// waiting[i] counts the inputs view i still waits for; readers[i] lists the views that
	// read view i. Views whose inputs are all placed wait in ready, first written first.
	waiting := make([]int, len(s.Views))
	readers := make([][]int, len(s.Views))
	for i, v := range s.Views {
		for _, dep := range deps[v.Name] {
			waiting[i]++
			readers[at[dep]] = append(readers[at[dep]], i)
		}
	}
	ready := &fileOrder{}
	for i := range s.Views {
		if waiting[i] == 0 {
			heap.Push(ready, i)
		}
	}
	placed := make([]bool, len(s.Views))
	out := make([]string, 0, len(s.Views))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		placed[i] = true
		out = append(out, s.Views[i].Name)
		for _, r := range readers[i] {
			if waiting[r]--; waiting[r] == 0 {
				heap.Push(ready, r)
			}
		}
	}
	for i, v := range s.Views {
		if !placed[i] {
			out = append(out, v.Name)
		}
	}
	return out
}

// fileOrder is a min-heap of view indexes: the view written first comes out first.
type fileOrder []int

func (h fileOrder) Len() int           { return len(h) }
func (h fileOrder) Less(i, j int) bool { return h[i] < h[j] }
func (h fileOrder) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *fileOrder) Push(x any)        { *h = append(*h, x.(int)) }
func (h *fileOrder) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// viewDeps maps each view to the views it reads, each once, in from: order. A name that is
// both a source and a view (an error Parse reports) counts as the source.
func (s *Spec) viewDeps() map[string][]string {
	deps := make(map[string][]string, len(s.Views))
	for _, v := range s.Views {
		for _, ref := range v.inputs() {
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
// written first and is the shortest way back to it. It takes time linear in the spec: the
// knots are found once, and each search for a cycle stays inside its knot.
func (d *decoder) cycles(s *Spec) {
	deps := s.viewDeps()
	// readers[x] lists the views that read x, in file order.
	readers := make(map[string][]string, len(s.Views))
	names := make([]string, len(s.Views))
	for i, v := range s.Views {
		names[i] = v.Name
		for _, dep := range deps[v.Name] {
			readers[dep] = append(readers[dep], v.Name)
		}
	}
	knot := knots(names, readers, deps)
	size := make(map[int]int)
	for _, k := range knot {
		size[k]++
	}
	reported := make(map[int]bool)
	for _, v := range s.Views {
		k := knot[v.Name]
		if reported[k] || (size[k] == 1 && !slices.Contains(deps[v.Name], v.Name)) {
			continue
		}
		reported[k] = true
		cycle := shortestCycle(v.Name, readers, func(name string) bool { return knot[name] == k })
		d.errs = append(d.errs, newError(v.Pos, "views", "cycle %s -> %s: a view cannot read its own output", strings.Join(cycle, " -> "), v.Name))
	}
}

// knots numbers the strongly connected components of the graph of names along edges, whose
// reverse is back: two names share a number when each reaches the other. It is Kosaraju's
// algorithm, with stacks of its own instead of recursion, so that a chain of any length is
// fine.
func knots(names []string, edges, back map[string][]string) map[string]int {
	// First pass: the names in the order their depth-first search along edges finishes.
	var finished []string
	seen := make(map[string]bool, len(names))
	type frame struct {
		name string
		next int // the index in edges[name] of the next edge to follow
	}
	for _, root := range names {
		if seen[root] {
			continue
		}
		seen[root] = true
		stack := []frame{{root, 0}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < len(edges[top.name]) {
				next := edges[top.name][top.next]
				top.next++
				if !seen[next] {
					seen[next] = true
					stack = append(stack, frame{next, 0})
				}
				continue
			}
			finished = append(finished, top.name)
			stack = stack[:len(stack)-1]
		}
	}
	// Second pass: latest finished first, what each reaches along back is its component.
	knot := make(map[string]int, len(names))
	for i := len(finished) - 1; i >= 0; i-- {
		root := finished[i]
		if _, done := knot[root]; done {
			continue
		}
		id := len(knot)
		knot[root] = id
		stack := []string{root}
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, next := range back[cur] {
				if _, done := knot[next]; !done {
					knot[next] = id
					stack = append(stack, next)
				}
			}
		}
	}
	return knot
}

// shortestCycle returns the views on the shortest path from start back to itself along
// edges, start first, going only through views for which within holds, or nil when there is
// none.
func shortestCycle(start string, edges map[string][]string, within func(string) bool) []string {
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
			if _, seen := parent[next]; !seen && within(next) {
				parent[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return nil
}
