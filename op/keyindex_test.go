package op

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKeyIndexFollowsAMap interns and removes random keys, the empty key among them, and
// checks after every step that the index finds exactly the keys a Go map holds, with the
// ids it gave them, and that removed ids are given out again.
func TestKeyIndexFollowsAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := newKeyIndex()
	ref := map[string]uint32{}
	key := func() []byte {
		if r.IntN(500) == 0 {
			return []byte{}
		}
		return fmt.Appendf(nil, "key-%d", r.IntN(5_000))
	}
	for step := range 200_000 {
		k := key()
		if r.IntN(3) == 0 {
			id, ok := x.find(k)
			want, wantOK := ref[string(k)]
			if ok != wantOK || ok && id != want {
				t.Fatalf("step %d: find %q = %d, %v; want %d, %v", step, k, id, ok, want, wantOK)
			}
			if ok {
				x.remove(id)
				delete(ref, string(k))
			}
			continue
		}
		id, added := x.intern(k)
		want, had := ref[string(k)]
		switch {
		case had && (added || id != want):
			t.Fatalf("step %d: intern %q = %d, added %v; it had id %d", step, k, id, added, want)
		case !had && !added:
			t.Fatalf("step %d: intern %q found id %d for a new key", step, k, id)
		}
		ref[string(k)] = id
		if !bytes.Equal(x.key(id), k) {
			t.Fatalf("step %d: key(%d) = %q, want %q", step, id, x.key(id), k)
		}
	}
	if x.len() != len(ref) {
		t.Fatalf("%d keys, want %d", x.len(), len(ref))
	}
	for k, id := range ref {
		if got, ok := x.find([]byte(k)); !ok || got != id || !x.live(id) {
			t.Fatalf("find %q = %d, %v; want %d", k, got, ok, id)
		}
	}
	if len(x.entries) > 5_001+500 {
		t.Errorf("%d ids for at most 5,001 keys at a time: removed ids are not reused", len(x.entries))
	}
	var want []string
	for k := range ref {
		want = append(want, k)
	}
	slices.Sort(want)
	var got []string
	for _, id := range x.sorted() {
		got = append(got, string(x.key(id)))
	}
	if !slices.Equal(got, want) {
		t.Errorf("sorted keys differ from the map's: %d against %d", len(got), len(want))
	}
}

// TestKeyIndexCompactsItsKeys removes most keys and checks that the arena of key bytes
// was compacted and still holds the live keys.
func TestKeyIndexCompactsItsKeys(t *testing.T) {
	x := newKeyIndex()
	for i := range 100_000 {
		x.intern(fmt.Appendf(nil, "a-long-key-to-fill-the-arena-%06d", i))
	}
	full := x.arena.used
	for i := range 99_000 {
		id, ok := x.find(fmt.Appendf(nil, "a-long-key-to-fill-the-arena-%06d", i))
		if !ok {
			t.Fatalf("key %d lost", i)
		}
		x.remove(id)
	}
	if x.arena.used >= full/2 || x.arena.held >= full/2 {
		t.Errorf("arena of %d bytes (%d held) after removing 99%% of %d", x.arena.used, x.arena.held, full)
	}
	for i := 99_000; i < 100_000; i++ {
		k := fmt.Appendf(nil, "a-long-key-to-fill-the-arena-%06d", i)
		if id, ok := x.find(k); !ok || !bytes.Equal(x.key(id), k) {
			t.Fatalf("key %d lost after compaction", i)
		}
	}
}

// TestByteArenaKeepsItsStrings adds strings short and longer than a chunk, replaces
// some in place and some not, and truncates a candidate: every string kept reads back.
func TestByteArenaKeepsItsStrings(t *testing.T) {
	var a byteArena
	s := a.add([]byte("twelve bytes"))
	s = a.replace(s, []byte("seven b"))
	if got := string(a.bytes(s)); got != "seven b" || a.used != 12 || a.dead != 5 {
		t.Fatalf("in place: %q, %d bytes, %d dead", got, a.used, a.dead)
	}
	s = a.replace(s, []byte("longer than twelve"))
	if got := string(a.bytes(s)); got != "longer than twelve" || a.dead != 0 || a.used != 18 {
		t.Fatalf("moved: %q, %d bytes, %d dead; its chunk held nothing else, so it is filled again", got, a.used, a.dead)
	}
	a.add([]byte("kept"))
	s = a.replace(s, []byte("longer than the twelve before"))
	if got := string(a.bytes(s)); got != "longer than the twelve before" || a.dead != 18 {
		t.Fatalf("moved beside a kept string: %q, %d dead", got, a.dead)
	}
	r := rand.New(rand.NewPCG(5, 6))
	var spans []span
	var want [][]byte
	for i := range 5_000 {
		b := bytes.Repeat([]byte{byte(i)}, r.IntN(3*maxChunk/1000))
		if i%1000 == 0 {
			b = bytes.Repeat([]byte{byte(i)}, maxChunk+1) // a chunk of its own
		}
		m := a.mark()
		a.add([]byte("a candidate that is not kept"))
		a.add(make([]byte, maxChunk)) // and one that took a new chunk
		a.truncate(m)
		spans, want = append(spans, a.add(b)), append(want, b)
	}
	for i, s := range spans {
		if !bytes.Equal(a.bytes(s), want[i]) {
			t.Fatalf("string %d reads back %d bytes, want %d", i, len(a.bytes(s)), len(want[i]))
		}
	}
	if a.held > 3*a.used {
		t.Errorf("%d bytes held for %d used", a.held, a.used)
	}
}

// TestByteArenaFillsEmptiedChunksAgain keeps a window of the latest strings, dropping the
// oldest as a join's rows expire, with candidates added and truncated between: the chunks
// the window left are filled again, so the arena stays the window's size, and every
// string in the window reads back.
func TestByteArenaFillsEmptiedChunksAgain(t *testing.T) {
	var a byteArena
	const window, strings = 1_000, 200_000
	var spans []span
	for i := range strings {
		if i%97 == 0 {
			m := a.mark()
			a.add(make([]byte, 3_000)) // often takes an emptied chunk
			a.truncate(m)
		}
		spans = append(spans, a.add(fmt.Appendf(nil, "%099d", i)))
		if i >= window {
			a.drop(spans[i-window])
		}
	}
	for i := strings - window; i < strings; i++ {
		if got, want := string(a.bytes(spans[i])), fmt.Sprintf("%099d", i); got != want {
			t.Fatalf("string %d reads %q", i, got)
		}
	}
	if a.held > 4*maxChunk {
		t.Errorf("%d bytes held for a window of %d bytes", a.held, window*99)
	}
}
