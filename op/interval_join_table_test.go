package op

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"testing"
)

// keyRows lists the rows of side of key k in order: time:cols.
func keyRows(t *joinTable, k string, side int) []string {
	var out []string
	id := t.find([]byte(k))
	for r := t.keys[id].first[side]; r != noRow; r = t.rows[r].next {
		out = append(out, fmt.Sprintf("%d:%s", t.rows[r].time, t.cols.bytes(t.rows[r].cols)))
	}
	return out
}

// TestJoinTableSharedHash gives every key one hash, so that each key after the first is
// found through the map of clashing keys, and checks that keys keep their own rows as
// keys come and go, the first key (the one the hash map holds) included.
func TestJoinTableSharedHash(t *testing.T) {
	tb := newJoinTable()
	tb.hash = func([]byte) uint64 { return 7 }
	for i, k := range []string{"a", "b", "c"} {
		id := tb.find([]byte(k))
		tb.append(id, 0, keptRow{time: int64(i)}, []byte("row-"+k))
	}
	if len(tb.byHash) != 1 || len(tb.clashes) != 2 || tb.live != 3 {
		t.Fatalf("%d keys by hash, %d clashing, %d live; want 1, 2, 3", len(tb.byHash), len(tb.clashes), tb.live)
	}
	// Forget "a", which holds the hash: "b" and "c" must still be found, not made again.
	if err := tb.sweep(tb.find([]byte("a")), 0, func(*keptRow, []byte) (bool, error) { return false, nil }); err != nil {
		t.Fatal(err)
	}
	if got := keyRows(&tb, "b", 0); !slices.Equal(got, []string{"1:row-b"}) {
		t.Fatalf("rows of b: %v", got)
	}
	if got := keyRows(&tb, "c", 0); !slices.Equal(got, []string{"2:row-c"}) {
		t.Fatalf("rows of c: %v", got)
	}
	if tb.live != 2 {
		t.Fatalf("%d live keys after forgetting a, want 2", tb.live)
	}
	// "a" again takes the hash's free place in the map and has no rows.
	if got := keyRows(&tb, "a", 0); len(got) != 0 || len(tb.byHash) != 1 || tb.live != 3 {
		t.Fatalf("a again: rows %v, %d keys by hash, %d live", got, len(tb.byHash), tb.live)
	}
}

// TestJoinTableSweepAndTidy keeps rows of many keys, drops most of them with sweep (first,
// middle and last rows of a list), and checks that what is left reads the same after tidy
// copies the arenas, and that freed slots are used again.
func TestJoinTableSweepAndTidy(t *testing.T) {
	tb := newJoinTable()
	const keys, perKey = 20_000, 10
	pad := string(slices.Repeat([]byte("x"), 80))
	for r := range perKey {
		for k := range keys {
			id := tb.find(fmt.Appendf(nil, "key-%d-%s", k, pad))
			tb.append(id, r%2, keptRow{time: int64(r)}, fmt.Appendf(nil, "%d/%d/%s", k, r, pad))
		}
	}
	// Keep rows 3 and 8 of every fourth key; drop every row of the others.
	for k := range keys {
		id := tb.find(fmt.Appendf(nil, "key-%d-%s", k, pad))
		for side := range 2 {
			err := tb.sweep(id, side, func(r *keptRow, _ []byte) (bool, error) {
				return k%4 == 0 && (r.time == 3 || r.time == 8), nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if tb.live != keys/4 || tb.kept != keys/2 {
		t.Fatalf("%d keys, %d rows left; want %d, %d", tb.live, tb.kept, keys/4, keys/2)
	}
	if !tb.cols.wasteful() || !tb.keyBytes.wasteful() {
		t.Fatalf("arenas with %d of %d and %d of %d bytes dropped are not wasteful", tb.cols.dead, tb.cols.used, tb.keyBytes.dead, tb.keyBytes.used)
	}
	before := tb.cols.used
	tb.tidy()
	if tb.cols.dead != 0 || tb.cols.used >= before/4 || tb.keyBytes.dead != 0 {
		t.Fatalf("after tidy the rows' arena holds %d bytes (%d dropped), was %d; the keys' arena %d dropped", tb.cols.used, tb.cols.dead, before, tb.keyBytes.dead)
	}
	for _, k := range []int{0, 4, keys - 4} {
		key := fmt.Sprintf("key-%d-%s", k, pad)
		if got, want := keyRows(&tb, key, 1), []string{fmt.Sprintf("3:%d/3/%s", k, pad)}; !slices.Equal(got, want) {
			t.Fatalf("rows of %s, side 1: %v, want %v", key, got, want)
		}
		if got, want := keyRows(&tb, key, 0), []string{fmt.Sprintf("8:%d/8/%s", k, pad)}; !slices.Equal(got, want) {
			t.Fatalf("rows of %s, side 0: %v, want %v", key, got, want)
		}
		if id := tb.find([]byte(key)); string(tb.key(id)) != key {
			t.Fatalf("slot of %s holds key %q", key, tb.key(id))
		}
	}
	slots, rows := len(tb.keys), len(tb.rows)
	tb.append(tb.find([]byte("new")), 0, keptRow{time: 99}, []byte("fresh"))
	if len(tb.keys) != slots || len(tb.rows) != rows {
		t.Fatalf("a new key and row took new slots (%d keys, %d rows; were %d, %d)", len(tb.keys), len(tb.rows), slots, rows)
	}
	if got := keyRows(&tb, "new", 0); !slices.Equal(got, []string{"99:fresh"}) {
		t.Fatalf("rows of the new key: %v", got)
	}
}

// TestKeyTimersOrderByKeyBytes checks that timers of one watermark come due by their keys'
// bytes, not by the slots the keys were given, and that a slot a timer names outlives its
// key's rows until the timer fires.
func TestKeyTimersOrderByKeyBytes(t *testing.T) {
	tb := newJoinTable()
	h := keyTimers{t: &tb}
	for _, k := range []string{"m", "z", "a", "q"} {
		id := tb.find([]byte(k))
		tb.append(id, 0, keptRow{}, nil)
		h.push(keyTimer{at: 5, id: id})
	}
	h.push(keyTimer{at: 1, id: tb.find([]byte("z"))})
	a := tb.find([]byte("a"))
	if err := tb.sweep(a, 0, func(*keptRow, []byte) (bool, error) { return false, nil }); err != nil {
		t.Fatal(err)
	}
	if tb.live != 3 || len(tb.freeKeys) != 0 {
		t.Fatalf("after a's rows went, %d live keys, %d free slots; want 3, 0 (a timer names a's slot)", tb.live, len(tb.freeKeys))
	}
	var got []string
	for len(h.s) > 0 {
		x := h.pop()
		got = append(got, fmt.Sprintf("%d%s", x.at, tb.key(x.id)))
		tb.fired(x.id, 0, x.at)
	}
	if want := []string{"1z", "5a", "5m", "5q", "5z"}; !slices.Equal(got, want) {
		t.Fatalf("timers came due as %v, want %v", got, want)
	}
	if len(tb.freeKeys) != 1 {
		t.Fatalf("%d free slots after a's timer fired, want 1", len(tb.freeKeys))
	}
}

// TestKeyHashSpreadsShortKeys hashes the keys of a million consecutive numbers, as
// KeyEncoder encodes an int64 column and a pair of int32 columns, and finds no two sharing
// a hash, so that such keys never take the slower way through the map of clashing keys.
func TestKeyHashSpreadsShortKeys(t *testing.T) {
	seed := maphash.MakeSeed()
	for _, enc := range []func(i int) []byte{
		func(i int) []byte { return binary.LittleEndian.AppendUint64([]byte{1}, uint64(i)) },
		func(i int) []byte {
			k := binary.LittleEndian.AppendUint32([]byte{1}, uint32(i%1000))
			return binary.LittleEndian.AppendUint32(append(k, 1), uint32(i/1000))
		},
	} {
		seen := make(map[uint64]int, 1_000_000)
		for i := range 1_000_000 {
			h := keyHash(seed, enc(i))
			if j, ok := seen[h]; ok {
				t.Fatalf("keys %x and %x share hash %x", enc(j), enc(i), h)
			}
			seen[h] = i
		}
	}
}
