package op

import (
	"fmt"
	"testing"
)

func TestKeyTableInternsAndForgets(t *testing.T) {
	kt := newKeyTable()
	a, b := kt.intern([]byte("a")), kt.intern([]byte("b"))
	if a == b || kt.intern([]byte("a")) != a {
		t.Fatalf("ids a=%d b=%d", a, b)
	}
	kt.refs[a], kt.refs[b] = 2, 1
	kt.release(a)
	if _, ok := kt.ids["a"]; !ok {
		t.Fatal("a dropped while a group still refers to it")
	}
	kt.release(a)
	kt.release(b)
	if len(kt.ids) != 0 || len(kt.free) != 2 {
		t.Fatalf("ids %v free %v", kt.ids, kt.free)
	}
	// Churn through many short-lived keys: ids are reused and the index stays small.
	for i := range 10_000 {
		id := kt.intern([]byte(fmt.Sprint("k", i)))
		kt.refs[id]++
		kt.release(id)
	}
	if len(kt.bytes) > 2 || len(kt.ids) != 0 {
		t.Fatalf("%d ids made, %d live", len(kt.bytes), len(kt.ids))
	}
}

func TestKeyTableResetForgetsEveryKey(t *testing.T) {
	kt := newKeyTable()
	for round := range 3 {
		for i := range 100 {
			id := kt.intern([]byte(fmt.Sprint("k", i)))
			if kt.owner[id] != -1 {
				t.Fatalf("round %d: key %d starts with the owner %d of a key from before the reset", round, i, kt.owner[id])
			}
			kt.owner[id] = int32(i % 7)
		}
		kt.reset()
		if len(kt.owner) != 0 || len(kt.whole) != 0 {
			t.Fatalf("round %d: after a reset %d owners and %d wholes are left", round, len(kt.owner), len(kt.whole))
		}
	}
}
