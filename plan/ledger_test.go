package plan

import (
	"reflect"
	"testing"
)

// TestLedgerPlusAddsLineByName adds the ledger of a run that went on after a rescale: lines
// of the same source or view add up, a line only one side has is kept.
func TestLedgerPlusAddsLineByName(t *testing.T) {
	first := Ledger{
		Sources: []SourceLedger{{Name: "tx", Read: 10, Accepted: 8, Rejected: 1, Late: 1}},
		Views:   []ViewLedger{{Name: "big", In: 8, Kept: 3, Filtered: 5, Out: 3}},
	}
	next := Ledger{
		Sources: []SourceLedger{{Name: "tx", Read: 5, Accepted: 5}},
		Views: []ViewLedger{{Name: "per_card", In: 5, Kept: 5, Out: 2, Having: 1},
			{Name: "big", In: 5, Kept: 1, Filtered: 4, Out: 1}},
	}
	want := Ledger{
		Sources: []SourceLedger{{Name: "tx", Read: 15, Accepted: 13, Rejected: 1, Late: 1}},
		Views: []ViewLedger{{Name: "big", In: 13, Kept: 4, Filtered: 9, Out: 4},
			{Name: "per_card", In: 5, Kept: 5, Out: 2, Having: 1}},
	}
	if got := first.Plus(next); !reflect.DeepEqual(got, want) || !got.Balanced() {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if first.Sources[0].Read != 10 {
		t.Fatal("Plus changed the ledger it added to")
	}
}
