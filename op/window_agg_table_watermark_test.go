package op

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// TestWholeTableHoldsTheWatermark checks that an aggregation of the whole input that emits
// its table once holds every watermark back until the final one has emitted the table, and
// that one emitting updates, or windows firing as they close, hold nothing back.
func TestWholeTableHoldsTheWatermark(t *testing.T) {
	calls := []AggCall{{Name: "count", Text: "count(*)"}}
	for _, c := range []struct {
		name   string
		w      window.Spec
		update bool
		held   int64
	}{
		{"whole table", window.Spec{Kind: window.Whole}, false, MinWatermark},
		{"whole updates", window.Spec{Kind: window.Whole}, true, MaxWatermark},
		{"tumble", window.Spec{Kind: window.Tumble, Size: time.Second}, false, MaxWatermark},
	} {
		timeCol := 1
		if c.w.Kind == window.Whole {
			timeCol = -1
		}
		w, err := NewWindowAgg(WindowAggConfig{Window: c.w, Keys: 1, Time: timeCol, Calls: calls, Phase: Single, EmitUpdates: c.update})
		if err != nil {
			t.Fatal(err)
		}
		w.cfg.Out = outSchema(false, w)
		if err := w.Open(Context{Mem: memory.DefaultAllocator}); err != nil {
			t.Fatal(err)
		}
		var out collect
		if err := w.OnWatermark(5_000, &out); err != nil {
			t.Fatal(err)
		}
		if got := w.HeldWatermark(); got != c.held {
			t.Errorf("%s: holds %d at watermark 5 s, want %d", c.name, got, c.held)
		}
		if err := w.OnWatermark(MaxWatermark, &out); err != nil {
			t.Fatal(err)
		}
		if got := w.HeldWatermark(); got != MaxWatermark {
			t.Errorf("%s: holds %d after the final watermark", c.name, got)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
