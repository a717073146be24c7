package op

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/window"
)

// TestStateRowsInStretches snapshots by owner an aggregation of more groups than four
// stretches of stateRows hold, with four goroutines to build them: an operator restored from
// the one owner's part must snapshot the same bytes as the original, whose Snapshot builds
// its rows without stateRows. The window is an hour long: the stream ends inside it.
func TestStateRowsInStretches(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	msgs := txStream(rand.New(rand.NewPCG(3, 5)), mem, 40, 6000, 500_000, 2, 0)
	defer releaseStream(msgs)
	c := groupCase{spec: window.Spec{Kind: window.Tumble, Size: time.Hour}, phase: Single}
	o := c.fresh(t, mem, "")
	deliver(t, o, msgs[:len(msgs)-1], false) // all but the last message, the watermark that ends the stream
	if g := groups(o); g < 4*stateRowsStretch {
		t.Fatalf("%d groups, fewer than four stretches of %d: the test builds the rows in fewer", g, stateRowsStretch)
	}
	parts, err := o.(GroupSnapshotter).SnapshotGroups(7, 1, cardOwner(1))
	if err != nil {
		t.Fatal(err)
	}
	restored := c.restoreFresh(t, mem, "", parts[0])
	if got, want := snapshotOf(t, restored), snapshotOf(t, o); !bytes.Equal(got, want) {
		t.Fatalf("restored from its part, the operator snapshots %d bytes unlike the %d of the original", len(got), len(want))
	}
}
