package gen

import (
	"slices"
	"testing"
)

// The heap pops the smallest row by delivery time, then by order, under any mix of pushes
// and pops.
func TestRowHeap(t *testing.T) {
	for round := range 2 {
		var h rowHeap
		var shadow []row
		less := func(a, b row) int {
			if a.deliver != b.deliver {
				return int(a.deliver - b.deliver)
			}
			return int(a.order) - int(b.order)
		}
		r := newRNG(5, streamDelivery, 0)
		for i := range 20_000 {
			if len(shadow) == 0 || r.intn(3) > 0 {
				// Few distinct keys, so that order must break ties.
				k := int64(r.intn(50 + 1000*round))
				x := row{ns: -k, deliver: k, order: uint64(i)}
				h.push(x)
				shadow = append(shadow, x)
				continue
			}
			want := slices.MinFunc(shadow, less)
			if got := h.pop(); got != want {
				t.Fatalf("round %d: popped %+v, want %+v", round, got, want)
			}
			shadow = slices.DeleteFunc(shadow, func(x row) bool { return x == want })
			if h.len() != len(shadow) {
				t.Fatalf("heap holds %d rows, want %d", h.len(), len(shadow))
			}
		}
	}
}
