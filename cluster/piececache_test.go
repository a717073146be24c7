package cluster

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"millrace/objstore"
)

// TestPieceCacheKeepsItsBound puts pieces of 4 KiB into a cache of 10 KiB: the least
// recently used goes first, a piece taken counts as used, a piece larger than the bound is
// not kept, and the cache never holds more than its bound.
func TestPieceCacheKeepsItsBound(t *testing.T) {
	c := newPieceCache(10 << 10)
	p := map[string][]byte{}
	for i, name := range []string{"a", "b", "c", "d"} {
		p[name] = randomBytes(uint64(30+i), 4<<10)
	}
	has := func(name string) bool {
		_, ok := c.get(pieceHash(p[name]))
		return ok
	}
	c.put(pieceHash(p["a"]), p["a"])
	c.put(pieceHash(p["b"]), p["b"])
	c.put(pieceHash(p["c"]), p["c"]) // drops a, the least recently used
	if has("a") || !has("b") || !has("c") {
		t.Fatalf("after a, b, c in 10 KiB: a %v, b %v, c %v; want a dropped", has("a"), has("b"), has("c"))
	}
	has("b")                         // b is now used after c
	c.put(pieceHash(p["d"]), p["d"]) // drops c
	if has("c") || !has("b") || !has("d") {
		t.Fatalf("after b used and d put: b %v, c %v, d %v; want c dropped", has("b"), has("c"), has("d"))
	}
	big := randomBytes(40, 11<<10)
	c.put(pieceHash(big), big)
	if _, ok := c.get(pieceHash(big)); ok {
		t.Error("the cache kept a piece larger than its bound")
	}
	stats, held := c.counts()
	if held != 8<<10 || c.full() {
		t.Errorf("the cache holds %d bytes (full: %v), want the 8 KiB of b and d", held, c.full())
	}
	if stats.put != 4 || stats.putBytes != 16<<10 {
		t.Errorf("counted %d pieces put, %d bytes, want 4 and 16 KiB", stats.put, stats.putBytes)
	}
	// The cache keeps its own copy: changing the bytes put changes nothing.
	hb := pieceHash(p["b"])
	p["b"][0] ^= 1
	if _, ok := c.get(hb); !ok {
		t.Error("the cache's piece changed with the bytes it was given")
	}
	c.clear()
	if !c.empty() || has("d") {
		t.Error("a cleared cache still holds pieces")
	}
	if s, _ := c.counts(); s.put != stats.put {
		t.Error("clearing the cache lost its counts")
	}
}

// TestPieceCacheChecksTheHash puts a piece under a hash its bytes do not have: get does
// not return it, drops it and counts it.
func TestPieceCacheChecksTheHash(t *testing.T) {
	c := newPieceCache(1 << 20)
	good, other := randomBytes(50, 3000), randomBytes(51, 3000)
	c.put(pieceHash(good), other)
	if _, ok := c.get(pieceHash(good)); ok {
		t.Fatal("the cache returned bytes that do not hold what their hash says")
	}
	if s, held := c.counts(); s.bad != 1 || held != 0 || s.hits != 0 {
		t.Errorf("after a bad piece: %d counted bad, %d bytes held, %d hits; want 1, 0, 0", s.bad, held, s.hits)
	}
	var none *pieceCache
	none.put("x", good)
	if _, ok := none.get("x"); ok || !none.empty() {
		t.Error("a nil cache holds pieces")
	}
}

// TestRestoreTakesPiecesFromTheCache saves a unit's state of a megabyte, pre-warms another
// worker's cache from that checkpoint, then saves the state again with a change near its
// start and bytes added at its end: the other worker's load of the second checkpoint
// takes the unchanged pieces from the cache and reads from the store only those written
// since, and its parts are exact. A cached piece damaged in memory is read from the store
// instead.
func TestRestoreTakesPiecesFromTheCache(t *testing.T) {
	ctx := context.Background()
	store, err := objstore.Open(ctx, t.TempDir(), objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	g, u := pieceGeneration(store)
	first := randomBytes(7, 1<<20)
	second := append(slices.Clone(first), randomBytes(8, 100_000)...)
	copy(second[200_000:], "changed")
	for i, part := range [][]byte{first, second} {
		st := &unitState{Pipeline: "p", Topic: "x", Partition: 5, Checkpoint: ckpt(i), Parts: map[string][]byte{"window": part}}
		if _, err := g.saveObject(ctx, u, st); err != nil {
			t.Fatal(err)
		}
	}
	load := func(damage bool) cacheStats {
		t.Helper()
		other, ou := pieceGeneration(store)
		other.w.cache = newPieceCache(64 << 20)
		if err := other.w.prewarmUnit(ctx, ou, ckpt(0)); err != nil {
			t.Fatal(err)
		}
		if s, _ := other.w.cache.counts(); s.putBytes != int64(len(first)) {
			t.Fatalf("pre-warmed %d bytes of pieces, want the %d of checkpoint 0", s.putBytes, len(first))
		}
		if damage {
			for _, e := range other.w.cache.by {
				e.Value.(*cachedPiece).b[0] ^= 1
			}
		}
		st, err := other.load(ctx, ou, ckpt(1))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(st.Parts["window"], second) {
			t.Fatal("the state loaded through the cache differs from the state saved")
		}
		s, _ := other.w.cache.counts()
		return s
	}
	s := load(false)
	if s.hitBytes < int64(len(first))*9/10 {
		t.Errorf("the load took %d bytes from the cache, want most of the %d unchanged", s.hitBytes, len(first))
	}
	if s.readBytes > 200_000 {
		t.Errorf("the load read %d bytes from the store past the header, want about the %d written since", s.readBytes, 100_000)
	}
	if s = load(true); s.hits != 0 || s.bad == 0 {
		t.Errorf("with every cached piece damaged: %d hits, %d found bad; want none taken", s.hits, s.bad)
	}
}
