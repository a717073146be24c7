package cluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"millrace/objstore"
	"millrace/objstore/objstoretest"
)

// randomBytes is n bytes drawn from seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestCutFindsTheSameCutsAfterAChange cuts a megabyte, and the same bytes with a few
// bytes changed near the start and more inserted in the middle: the head and the tail are
// pieces of their own, every other piece is within its bounds, and the pieces after each
// change are the pieces of the original.
func TestCutFindsTheSameCutsAfterAChange(t *testing.T) {
	a := randomBytes(1, 1<<20)
	b := slices.Clone(a)
	copy(b[1000:], "changed")
	b = slices.Insert(b, 600_000, randomBytes(2, 3000)...)
	pieces := func(x []byte) []string {
		var out []string
		start := 0
		ends := cut(x)
		for i, end := range ends {
			n := end - start
			switch {
			case i == 0 && n != pieceHead, i == len(ends)-1 && n != pieceTail:
				t.Fatalf("piece %d of %d has %d bytes, want the head's %d or the tail's %d", i, len(ends), n, pieceHead, pieceTail)
			case i > 0 && i < len(ends)-2 && (n > pieceMax || n < pieceMin):
				t.Fatalf("piece %d has %d bytes, want %d to %d", i, n, pieceMin, pieceMax)
			}
			out = append(out, string(x[start:end]))
			start = end
		}
		if start != len(x) {
			t.Fatalf("the pieces end at %d of %d bytes", start, len(x))
		}
		return out
	}
	pa, pb := pieces(a), pieces(b)
	if len(pa) < 8 {
		t.Fatalf("a megabyte in %d pieces, want at least 8", len(pa))
	}
	shared := 0
	for _, p := range pb {
		if slices.Contains(pa, p) {
			shared++
		}
	}
	if shared < len(pb)-5 {
		t.Errorf("%d of %d pieces are the original's after two changes, want all but at most 5", shared, len(pb))
	}
	if cut(nil) != nil {
		t.Errorf("no bytes cut into %v", cut(nil))
	}
	if got := cut(a[:pieceHead+pieceTail]); !slices.Equal(got, []int{pieceHead + pieceTail}) {
		t.Errorf("a part of %d bytes cut at %v, want one piece", pieceHead+pieceTail, got)
	}
}

// pieceGeneration is a generation of a worker of pipeline p keeping state in store, with
// a unit of key group 5 of topic x.
func pieceGeneration(store objstore.Store) (*generation, *unit) {
	w := &worker{opts: Options{Store: store, Layout: &Layout{Pipeline: "p", KeyGroups: 256}, Log: slog.New(slog.DiscardHandler)}}
	u := &unit{stage: &Stage{Name: "x"}, topic: "x", partition: 5}
	return &generation{w: w, units: []*unit{u}, committed: map[*unit]committedUnit{}}, u
}

// TestSavesWriteOnlyWhatChanged saves a unit's state at four checkpoints on the S3
// server over HTTP: a megabyte, then the same with a change near its start and bytes
// added at its end, then the same again, then other bytes. Each save after the first
// writes only the pieces that changed and names the others in earlier objects; another
// generation, knowing nothing, loads every checkpoint's parts exactly; clean-up keeps the
// objects a kept checkpoint takes pieces from and deletes the rest; a piece whose bytes
// changed in the store fails the load, naming the unit.
func TestSavesWriteOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	store, err := objstore.Open(ctx, objstoretest.S3(t), objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	g, u := pieceGeneration(store)
	small := []byte("a sink's state")
	first := randomBytes(3, 1<<20)
	second := append(slices.Clone(first), randomBytes(4, 40_000)...)
	copy(second[100:], "changed")
	parts := [][]byte{first, second, second, randomBytes(5, 300_000)}
	var wrote []written
	for i, p := range parts {
		st := &unitState{Pipeline: "p", Topic: "x", Partition: 5, Checkpoint: ckpt(i), Offset: int64(10 * (i + 1)),
			Parts: map[string][]byte{"window": p, "sink": small}}
		w, err := g.saveObject(ctx, u, st)
		if err != nil {
			t.Fatal(err)
		}
		wrote = append(wrote, w)
	}
	if w := wrote[0]; w.bytes < int64(len(first)) || w.named != 0 {
		t.Errorf("the first save wrote %d bytes and named %d, want all %d written", w.bytes, w.named, len(first))
	}
	if w := wrote[1]; w.bytes > int64(len(second))/4 || w.named < int64(len(second))*3/4 {
		t.Errorf("the second save wrote %d bytes and named %d of %d, want most named", w.bytes, w.named, len(second))
	}
	if w := wrote[2]; w.bytes > int64(len(second))/25 || w.named != int64(len(second)+len(small)) {
		t.Errorf("a save of unchanged state wrote %d bytes and named %d of %d, want only its header (the list of its pieces) written", w.bytes, w.named, len(second)+len(small))
	}
	if w := wrote[3]; w.named != int64(len(small)) {
		t.Errorf("a save of other bytes named %d bytes of earlier objects, want the %d of the unchanged sink's", w.named, len(small))
	}
	// Another generation (a worker taking the unit over) knows nothing of the pieces.
	other, ou := pieceGeneration(store)
	for i, p := range parts {
		st, err := other.load(ctx, ou, ckpt(i))
		if err != nil {
			t.Fatalf("load checkpoint %d: %v", i, err)
		}
		if !bytes.Equal(st.Parts["window"], p) || !bytes.Equal(st.Parts["sink"], small) || st.Offset != int64(10*(i+1)) {
			t.Fatalf("checkpoint %d loaded other parts or offset (%d)", i, st.Offset)
		}
	}
	// Keeping checkpoint 2 keeps 0 and 1, whose pieces it names; 3 goes.
	if err := g.cleanKept(ctx, u, []string{ckpt(2)}); err != nil {
		t.Fatal(err)
	}
	if got, want := stateNames(t, store), []string{ckpt(0), ckpt(1), ckpt(2)}; !slices.Equal(got, want) {
		t.Errorf("after clean-up keeping checkpoint 2: %v, want %v", got, want)
	}
	if st, err := other.load(ctx, ou, ckpt(2)); err != nil || !bytes.Equal(st.Parts["window"], second) {
		t.Fatalf("checkpoint 2 after clean-up: %v", err)
	}
	// The generation forgot the pieces of checkpoint 3: a save of its bytes writes them.
	st := &unitState{Checkpoint: ckpt(4), Parts: map[string][]byte{"window": parts[3]}}
	w, err := g.saveObject(ctx, u, st)
	if err != nil {
		t.Fatal(err)
	}
	if w.named != 0 {
		t.Errorf("a save named %d bytes of a deleted object", w.named)
	}
	if err := g.cleanKept(ctx, u, []string{ckpt(4)}); err != nil {
		t.Fatal(err)
	}
	if got, want := stateNames(t, store), []string{ckpt(4)}; !slices.Equal(got, want) {
		t.Errorf("after clean-up keeping checkpoint 4: %v, want %v", got, want)
	}
	// A damaged piece fails the load.
	key := stateKey("p", "x", 5, ckpt(4))
	obj, err := store.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	obj[len(obj)-10] ^= 1
	if err := store.Put(ctx, key, obj); err != nil {
		t.Fatal(err)
	}
	_, err = other.load(ctx, ou, ckpt(4))
	var fatal *fatalError
	if !errors.As(err, &fatal) || !strings.Contains(err.Error(), "x/5") || !strings.Contains(err.Error(), "hash") {
		t.Errorf("a damaged piece: %v, want a fatal error naming the unit and the hash", err)
	}
}

// ckpt names checkpoint i.
func ckpt(i int) string { return "w-run-" + string(rune('0'+i)) }

// stateNames lists the checkpoints of unit x/5 in the store.
func stateNames(t *testing.T, store objstore.Store) []string {
	t.Helper()
	objs, err := store.List(context.Background(), stateKey("p", "x", 5, "")+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Key[strings.LastIndex(o.Key, "/")+1:])
	}
	return out
}

// TestAnUnchangedPartIsNamedWhateverItsHeadAndTail saves a part of a few kilobytes twice,
// the second time with another head and tail, as an operator's snapshot of unchanged
// state differs in its checkpoint id and checksum: the second save names the bytes between
// them in the first object, and loads back exactly.
func TestAnUnchangedPartIsNamedWhateverItsHeadAndTail(t *testing.T) {
	ctx := context.Background()
	store, err := objstore.Open(ctx, t.TempDir(), objstore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	g, u := pieceGeneration(store)
	body := randomBytes(6, 5000)
	var wrote []written
	for i := range 2 {
		part := slices.Concat(randomBytes(uint64(10+i), pieceHead), body, randomBytes(uint64(20+i), pieceTail))
		w, err := g.saveObject(ctx, u, &unitState{Checkpoint: ckpt(i), Parts: map[string][]byte{"window": part}})
		if err != nil {
			t.Fatal(err)
		}
		wrote = append(wrote, w)
		other, ou := pieceGeneration(store)
		st, err := other.load(ctx, ou, ckpt(i))
		if err != nil || !bytes.Equal(st.Parts["window"], part) {
			t.Fatalf("load checkpoint %d: %v", i, err)
		}
	}
	if w := wrote[1]; w.named != int64(len(body)) || w.bytes >= int64(len(body)) {
		t.Errorf("the second save wrote %d bytes and named %d, want the %d between head and tail named", w.bytes, w.named, len(body))
	}
}

// BenchmarkPiecewise cuts and hashes 8 MiB of parts, as a save does for every part, and
// reports the rate.
func BenchmarkPiecewise(b *testing.B) {
	st := &unitState{Parts: map[string][]byte{}}
	for i := range 32 {
		st.Parts[strconv.Itoa(i)] = randomBytes(uint64(i), 256<<10)
	}
	b.SetBytes(8 << 20)
	for b.Loop() {
		piecewise(st, nil)
	}
}
