package cluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sync"

	"github.com/zeebo/xxh3"
	"golang.org/x/sync/errgroup"

	"millrace/objstore"
	"millrace/wyrand"
)

// Incremental saves. A unit's state object (version 2) holds its parts as pieces: each part
// is cut into pieces by its content, and the object lists, for every piece, its hash,
// its length and where its bytes are: in this object, after the header, or at an offset
// of an earlier state object of the same unit that holds the same bytes. A save writes
// only the pieces the unit's earlier objects do not hold, so a checkpoint writes about
// what changed since the one before: a window step with the pebble backend carries its
// spilled chunks in its parts as they are on disk, the same bytes at every checkpoint
// until their window changes. A restore reads the object its committed offset names, then
// the ranges of the earlier objects it names, and checks every piece against its hash.
//
// The cut points come from a rolling hash of the last 64 bytes (a gear hash): a piece ends
// where the hash's low bits are zero, at least pieceMin and at most pieceMax bytes after
// its start, so bytes inserted or removed in one place move only the cuts near them and
// the pieces after them are those of the checkpoint before. The first pieceHead and the
// last pieceTail bytes of a part are pieces of their own, so that the state of a key group
// that did not change is named, not written, whatever the operator keeps there.
//
// Only the worker that owns a unit writes or deletes its objects. It knows where the
// pieces it wrote or restored are (storedPieces), and names only those; a restore forgets
// what it knew and starts from the objects it read. An object stays in the store as long
// as an object the unit keeps names it (retain.go). A save that would name pieces in more
// than maxSources earlier objects writes every piece again instead, so that a restore
// reads few objects and old objects stop being named.

// The sizes of pieces: at least pieceMin bytes, about pieceMin+pieceMask+1 on average, at
// most pieceMax (the last piece of a part may be shorter).
const (
	pieceMin  = 2 << 10
	pieceMask = 1<<12 - 1
	pieceMax  = 64 << 10
)

// maxSources is the most earlier objects a unit's state object names pieces in.
const maxSources = 4

// gear holds a random word per byte value for the rolling hash, the same in every process.
var gear = func() (t [256]uint64) {
	r := wyrand.Source{State: wyrand.Mix64(0x6d696c6c72616365)}
	for i := range t {
		t[i] = r.Next()
	}
	return t
}()

// The head and the tail of a part are pieces of their own: an operator's snapshot keeps
// its checkpoint's id near its start and a checksum of everything at its end (op's
// envelope, one inside the other for a chain), which differ at every checkpoint even when
// the state does not.
const (
	pieceHead = 256
	pieceTail = 16
)

// cut returns the end of each piece of b, the last being len(b); none when b is empty.
// A part of more than pieceHead+pieceTail bytes has its head and tail cut off first.
func cut(b []byte) []int {
	if len(b) == 0 {
		return nil
	}
	if len(b) <= pieceHead+pieceTail {
		return []int{len(b)}
	}
	ends := []int{pieceHead}
	for _, end := range cutBody(b[pieceHead : len(b)-pieceTail]) {
		ends = append(ends, pieceHead+end)
	}
	return append(ends, len(b))
}

// cutBody cuts b by its content; see above.
func cutBody(b []byte) []int {
	var ends []int
	for start := 0; start < len(b); {
		end := min(start+pieceMax, len(b))
		if end-start > pieceMin {
			// The hash at a byte depends on the 64 before it: start them at the least cut.
			var h uint64
			for _, c := range b[start+pieceMin-64 : start+pieceMin] {
				h = h<<1 + gear[c]
			}
			for i, c := range b[start+pieceMin : end] {
				h = h<<1 + gear[c]
				if h&pieceMask == 0 {
					end = start + pieceMin + i + 1
					break
				}
			}
		}
		ends = append(ends, end)
		start = end
	}
	return ends
}

// stateMagic2 starts a state object whose parts are pieces.
const stateMagic2 = "millrace-unit-2\n"

// pieceRef is one piece of a part, as a version 2 state object lists it.
type pieceRef struct {
	// Hash is the piece's hash (pieceHash).
	Hash string `json:"xxh3"`
	// In is the checkpoint whose object of the same unit holds the piece; empty for the
	// object that lists it.
	In string `json:"in,omitempty"`
	// At is where the piece starts: in the object In, from its first byte; in the object
	// that lists it, from the end of its header.
	At    int64 `json:"at"`
	Bytes int   `json:"bytes"`
}

// pieceHash is the 128-bit XXH3 hash of a piece's bytes, in hex: what names the piece among
// those of its unit and checks it when it is read back.
func pieceHash(p []byte) string {
	h := xxh3.Hash128(p).Bytes()
	return hex.EncodeToString(h[:])
}

// location is where a piece is: the checkpoint of the object, and the offset in it.
type location struct {
	in string
	at int64
}

// location is where r is, r being listed by the object of checkpoint whose data (its
// own pieces) starts at start.
func (r pieceRef) location(checkpoint string, start int64) location {
	if r.In == "" {
		return location{in: checkpoint, at: start + r.At}
	}
	return location{in: r.In, at: r.At}
}

// storedPieces knows where the pieces of each unit are in the store, by hash. It is safe
// for concurrent use.
type storedPieces struct {
	mu sync.Mutex
	at map[*unit]map[string]location
}

func (s *storedPieces) of(u *unit) map[string]location {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.at[u])
}

// add records where pieces of u are.
func (s *storedPieces) add(u *unit, at map[string]location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at == nil {
		s.at = map[*unit]map[string]location{}
	}
	if s.at[u] == nil {
		s.at[u] = map[string]location{}
	}
	for h, l := range at {
		s.at[u][h] = l
	}
}

// keepOnly forgets the pieces of u that are in no object of keep.
func (s *storedPieces) keepOnly(u *unit, keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, l := range s.at[u] {
		if !keep[l.in] {
			delete(s.at[u], h)
		}
	}
}

// reset forgets every piece.
func (s *storedPieces) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at = nil
}

// written counts what saves wrote to the store: objects and their bytes, and the bytes of
// the pieces they named in earlier objects instead.
type written struct {
	objects      int
	bytes, named int64
}

func (w *written) add(o written) {
	w.objects += o.objects
	w.bytes += o.bytes
	w.named += o.named
}

// piecewise plans st's object: every part cut into pieces, each named where known holds
// it, the others to be held by the object itself (own, in order, size bytes in all). It
// names pieces in at most maxSources objects.
func piecewise(st *unitState, known map[string]location) (refs map[string][]pieceRef, own [][]byte, size int, named int64) {
	nodes := make([]string, 0, len(st.Parts))
	for n := range st.Parts {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	refs = map[string][]pieceRef{}
	sources := map[string]bool{}
	for _, n := range nodes {
		b := st.Parts[n]
		ends := cut(b)
		rs := make([]pieceRef, len(ends)) // a part of no bytes has no pieces
		start := 0
		for i, end := range ends {
			rs[i] = pieceRef{Hash: pieceHash(b[start:end]), Bytes: end - start}
			if l, ok := known[rs[i].Hash]; ok {
				sources[l.in] = true
			}
			start = end
		}
		refs[n] = rs
	}
	if len(sources) > maxSources {
		known = nil
	}
	for _, n := range nodes {
		b, at := st.Parts[n], 0
		for i := range refs[n] {
			r := &refs[n][i]
			p := b[at : at+r.Bytes]
			at += r.Bytes
			if l, ok := known[r.Hash]; ok {
				r.In, r.At = l.in, l.at
				named += int64(r.Bytes)
				continue
			}
			r.At = int64(size)
			own = append(own, p)
			size += r.Bytes
		}
	}
	return refs, own, size, named
}

// encodePieces writes the version 2 object of st whose parts are refs, with the pieces of
// own (size bytes) after the header, and returns it with the offset where they start.
func encodePieces(st *unitState, refs map[string][]pieceRef, own [][]byte, size int) ([]byte, int64, error) {
	type header struct {
		*unitState
		Parts []partHeader `json:"parts"`
	}
	h := header{unitState: st}
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		h.Parts = append(h.Parts, partHeader{Node: n, Bytes: len(st.Parts[n]), Pieces: refs[n]})
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, 0, err
	}
	b := make([]byte, 0, len(stateMagic2)+binary.MaxVarintLen64+len(js)+size)
	b = append(b, stateMagic2...)
	b = binary.AppendUvarint(b, uint64(len(js)))
	b = append(b, js...)
	start := int64(len(b))
	for _, p := range own {
		b = append(b, p...)
	}
	return b, start, nil
}

// saveObject writes the state object of u at st's checkpoint, naming the pieces its earlier
// objects hold, and records where its own pieces are.
func (g *generation) saveObject(ctx context.Context, u *unit, st *unitState) (written, error) {
	refs, own, size, named := piecewise(st, g.stored.of(u))
	obj, start, err := encodePieces(st, refs, own, size)
	if err != nil {
		return written{}, err
	}
	key := stateKey(g.w.opts.Layout.Pipeline, u.topic, u.partition, st.Checkpoint)
	if err := g.w.opts.Store.Put(ctx, key, obj); err != nil {
		return written{}, err
	}
	at := map[string]location{}
	for _, rs := range refs {
		for _, r := range rs {
			if r.In == "" {
				at[r.Hash] = r.location(st.Checkpoint, start)
			}
		}
	}
	g.stored.add(u, at)
	return written{objects: 1, bytes: int64(len(obj)), named: named}, nil
}

// assemble puts the parts of a version 2 object of u together from their pieces, taken
// from cache (which may be nil) where it holds them (fetchPieces), and records where the
// pieces are.
func (g *generation) assemble(ctx context.Context, cache *pieceCache, u *unit, st *unitState, data []byte, start int64) error {
	pieces, err := g.w.fetchPieces(ctx, cache, u, st, data, start)
	if err != nil {
		return err
	}
	at := map[string]location{}
	for node, refs := range st.refs {
		part := make([]byte, 0, st.sizes[node])
		for _, r := range refs {
			part = append(part, pieces[r.Hash]...)
			at[r.Hash] = r.location(st.Checkpoint, start)
		}
		if len(part) != st.sizes[node] {
			return &fatalError{fmt.Errorf("cluster: %s: checkpoint %s: step %s has %d bytes in its pieces, its header says %d", u, st.Checkpoint, node, len(part), st.sizes[node])}
		}
		st.Parts[node] = part
	}
	st.refs = nil
	g.stored.add(u, at)
	return nil
}

// fetchPieces returns the bytes of every piece the version 2 object st of u names, by
// hash: from cache where it holds them, else from data (the object's bytes after its
// header, which starts at start, as far as they were read), else from the store, one range
// of each object that holds pieces still missing, those ranges at once. Every piece read
// is checked against its hash (the cache checks its own).
func (w *worker) fetchPieces(ctx context.Context, cache *pieceCache, u *unit, st *unitState, data []byte, start int64) (map[string][]byte, error) {
	type span struct{ lo, hi int64 }
	spans := map[string]*span{}
	pieces := map[string][]byte{}
	for node, refs := range st.refs {
		for i, r := range refs {
			if _, ok := pieces[r.Hash]; ok {
				continue
			}
			if p, ok := cache.get(r.Hash); ok {
				pieces[r.Hash] = p
				continue
			}
			if r.At < 0 || r.Bytes < 0 {
				return nil, &fatalError{fmt.Errorf("cluster: %s: checkpoint %s: piece %d of step %s lies outside the object", u, st.Checkpoint, i, node)}
			}
			if r.In == "" && r.At+int64(r.Bytes) <= int64(len(data)) {
				continue // read with the header
			}
			l := r.location(st.Checkpoint, start)
			s := spans[l.in]
			if s == nil {
				s = &span{lo: l.at, hi: l.at + int64(r.Bytes)}
				spans[l.in] = s
			}
			s.lo, s.hi = min(s.lo, l.at), max(s.hi, l.at+int64(r.Bytes))
		}
	}
	read := map[string][]byte{}
	var mu sync.Mutex
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(maxSources + 1)
	for in, s := range spans {
		eg.Go(func() error {
			key := stateKey(w.opts.Layout.Pipeline, u.topic, u.partition, in)
			b, err := w.opts.Store.GetRange(ectx, key, s.lo, s.hi-s.lo)
			if errors.Is(err, objstore.ErrNotFound) {
				return &fatalError{fmt.Errorf("cluster: %s: checkpoint %s names pieces of %s, which is missing from %s", u, st.Checkpoint, key, w.opts.Store)}
			}
			if err != nil {
				return fmt.Errorf("cluster: state of %s: %w", u, err)
			}
			cache.read(int64(len(b)))
			mu.Lock()
			defer mu.Unlock()
			read[in] = b
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	for node, refs := range st.refs {
		for i, r := range refs {
			if _, ok := pieces[r.Hash]; ok {
				continue
			}
			var p []byte
			if r.In == "" && r.At+int64(r.Bytes) <= int64(len(data)) {
				p = data[r.At : r.At+int64(r.Bytes)]
			} else {
				l := r.location(st.Checkpoint, start)
				b, lo := read[l.in], spans[l.in].lo
				if l.at-lo+int64(r.Bytes) > int64(len(b)) {
					return nil, &fatalError{fmt.Errorf("cluster: %s: checkpoint %s: piece %d of step %s lies past the end of checkpoint %s's object", u, st.Checkpoint, i, node, l.in)}
				}
				p = b[l.at-lo : l.at-lo+int64(r.Bytes)]
			}
			if pieceHash(p) != r.Hash {
				return nil, &fatalError{fmt.Errorf("cluster: %s: checkpoint %s: piece %d of step %s (%d bytes%s) does not hold what its hash says", u, st.Checkpoint, i, node, r.Bytes, inWhich(r.In))}
			}
			pieces[r.Hash] = p
		}
	}
	return pieces, nil
}

// inWhich says, for an error, which object held a piece.
func inWhich(in string) string {
	if in == "" {
		return ""
	}
	return ", in checkpoint " + in + "'s object"
}

// headerRead is how much of an object a header read takes first.
const headerRead = 64 << 10

// readHeader reads the header of the state object at key, and returns it with the
// object's bytes after it as far as they were read (at least the first headerRead bytes of
// the object, those of a smaller one all), which start at start; of a version 1 object it
// returns nil. A missing object is an error matching objstore.ErrNotFound, a damaged
// header a fatalError.
func (w *worker) readHeader(ctx context.Context, key string) (st *unitState, data []byte, start int64, err error) {
	b, err := w.opts.Store.GetRange(ctx, key, 0, headerRead)
	if err != nil {
		return nil, nil, 0, err
	}
	if !bytes.HasPrefix(b, []byte(stateMagic2)) {
		return nil, nil, 0, nil // version 1: names no other object
	}
	n, k := binary.Uvarint(b[len(stateMagic2):])
	if k <= 0 {
		return nil, nil, 0, &fatalError{fmt.Errorf("cluster: state %s in %s: truncated header", key, w.opts.Store)}
	}
	if need := int64(len(stateMagic2)+k) + int64(n); need > int64(len(b)) {
		if b, err = w.opts.Store.GetRange(ctx, key, 0, need); err != nil {
			return nil, nil, 0, err
		}
	}
	if st, data, start, err = decodeHeader(b); err != nil {
		return nil, nil, 0, &fatalError{fmt.Errorf("cluster: state %s in %s: %w", key, w.opts.Store, err)}
	}
	return st, data, start, nil
}

// cleanKept deletes the state objects of u but those of the checkpoints keep names and
// the objects they take pieces from, and forgets the pieces of the objects it deletes. It
// deletes nothing when a kept object's header cannot be read.
func (g *generation) cleanKept(ctx context.Context, u *unit, keep []string) error {
	pipeline := g.w.opts.Layout.Pipeline
	kept := map[string]bool{}
	for _, name := range keep {
		if name == "" || kept[name] {
			continue
		}
		kept[name] = true
		st, _, _, err := g.w.readHeader(ctx, stateKey(pipeline, u.topic, u.partition, name))
		if errors.Is(err, objstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if st == nil {
			continue
		}
		for _, refs := range st.refs {
			for _, r := range refs {
				if r.In != "" {
					kept[r.In] = true
				}
			}
		}
	}
	prefix := stateKey(pipeline, u.topic, u.partition, "") + "/"
	objs, err := g.w.opts.Store.List(ctx, prefix)
	if err != nil {
		return err
	}
	var old []string
	for _, o := range objs {
		if name := path.Base(o.Key); !kept[name] && path.Dir(o.Key)+"/" == prefix {
			old = append(old, o.Key)
		}
	}
	g.stored.keepOnly(u, kept)
	return g.w.opts.Store.Delete(ctx, old...)
}
