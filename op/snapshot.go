package op

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/dictcode"
)

// Operator state, as Snapshot writes it and Restore reads it.
//
// Every snapshot of this package is one envelope around a body that depends on its kind:
//
//	+--------+------+---------+------------+-------------------+------+---------+
//	| "MRST" | kind | version | checkpoint | fingerprint       | body | crc32c  |
//	| 4 B    | 1 B  | 1 B     | uvarint    | uvarint n, n B    | ...  | 4 B, LE |
//	+--------+------+---------+------------+-------------------+------+---------+
//
// kind is 'W' for a tumbling or hopping WindowAgg, 'S' for a session WindowAgg, 'T' for a
// WindowTop, 'C' for a chain, 'J' for an IntervalJoin, 'D' for a Dedup, 'F' for Features,
// 'L' for a Changelog, 'N' for a TopN and 'M' for a Materialize; version counts changes of
// that kind's body, and Restore refuses versions it does not know. checkpoint is the id
// Snapshot was called with, kept for inspection only. fingerprint is the writer's
// StateFingerprint, which Restore compares with its own. The CRC-32C (Castagnoli) covers
// every byte before it.
//
// Bodies hold their rows as an Arrow IPC stream (a schema message and record batches), so
// aggregate states travel in the very columns agg.Accumulator.Partial makes and
// MergePartial reads. The bodies of each kind are described where they are written:
// window_agg_snapshot.go, session_agg_snapshot.go, window_top.go and chain.go.
//
// Key groups. Rows of keyed state carry the key as the bytes KeyEncoder made of the key
// columns, not a key group number: the number depends on the pipeline's key group count,
// and package op does not compute it. A rescaling step splits a state by key group by
// decoding the key bytes with AppendKey into the key columns (of the types of the operator's
// output key fields) and hashing those with the engine's HashRows and KeyGroup, as the keyed
// exchange does for live rows.

// StateFingerprinter is a Snapshotter that names the schema of its state: two operators with
// equal fingerprints read each other's snapshots. The fingerprint is a short hex string that
// stays the same across runs and processes; the engine may keep it beside a checkpoint and
// give an operator whose fingerprint changed fresh state instead of failing in Restore,
// which refuses a snapshot with another fingerprint.
type StateFingerprinter interface {
	StateFingerprint() string
}

// stateMagic opens every snapshot of this package.
const stateMagic = "MRST"

// The kinds of snapshot.
const (
	kindWindowAgg  byte = 'W'
	kindSessionAgg byte = 'S'
	kindWindowTop  byte = 'T'
	kindChain      byte = 'C'
)

// kindName names a kind of snapshot for errors.
func kindName(k byte) string {
	switch k {
	case kindWindowAgg:
		return "a window aggregation's (tumbling or hopping)"
	case kindSessionAgg:
		return "a session window aggregation's"
	case kindWindowTop:
		return "a window top's"
	case kindChain:
		return "a chain's"
	case kindIntervalJoin:
		return "an interval join's"
	case kindDedup:
		return "a deduplication's"
	case kindFeatures:
		return "a features step's"
	case kindChangelog:
		return "a changelog's"
	case kindTopN:
		return "a top's"
	case kindMaterialize:
		return "a materialized table's"
	case kindRetractAgg:
		return "a changelog aggregate's"
	}
	return fmt.Sprintf("of unknown kind %q", k)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// stateWriter builds a snapshot: the envelope's header, then the body, then seal.
type stateWriter struct {
	buf bytes.Buffer
}

func newStateWriter(kind, version byte, checkpoint uint64, fingerprint string) *stateWriter {
	w := &stateWriter{}
	w.buf.WriteString(stateMagic)
	w.buf.WriteByte(kind)
	w.buf.WriteByte(version)
	w.uvarint(checkpoint)
	w.uvarint(uint64(len(fingerprint)))
	w.buf.WriteString(fingerprint)
	return w
}

func (w *stateWriter) uvarint(v uint64) {
	var b [binary.MaxVarintLen64]byte
	w.buf.Write(b[:binary.PutUvarint(b[:], v)])
}

func (w *stateWriter) varint(v int64) {
	var b [binary.MaxVarintLen64]byte
	w.buf.Write(b[:binary.PutVarint(b[:], v)])
}

// records appends an Arrow IPC stream of schema and recs to the body.
func (w *stateWriter) records(mem memory.Allocator, schema *arrow.Schema, recs ...arrow.RecordBatch) error {
	size := 4096 // the schema and each batch's metadata, roughly
	for _, r := range recs {
		size += 512
		for _, c := range r.Columns() {
			size += dataSize(c.Data())
		}
	}
	w.buf.Grow(size)
	return w.stream(mem, schema, recs...)
}

// stream appends an Arrow IPC stream of schema and recs to the body, into the room the
// buffer has. Unlike records it does not size the buffer first, so recs may be slices of
// larger batches (whose buffers records would count whole).
func (w *stateWriter) stream(mem memory.Allocator, schema *arrow.Schema, recs ...arrow.RecordBatch) error {
	iw := ipc.NewWriter(&w.buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	for _, r := range recs {
		if err := iw.Write(r); err != nil {
			return fmt.Errorf("encode state rows: %w", errors.Join(err, iw.Close()))
		}
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("encode state rows: %w", err)
	}
	return nil
}

// dataSize is the bytes of an array's buffers, its children's included.
func dataSize(d arrow.ArrayData) int {
	n := 0
	for _, b := range d.Buffers() {
		if b != nil {
			n += b.Len() + 8 // and padding to 8 bytes
		}
	}
	for _, c := range d.Children() {
		n += dataSize(c)
	}
	return n + dictcode.Bytes(d)
}

// seal appends the checksum and returns the snapshot.
func (w *stateWriter) seal() []byte {
	sum := crc32.Checksum(w.buf.Bytes(), castagnoli)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], sum)
	w.buf.Write(b[:])
	return w.buf.Bytes()
}

// stateReader reads a snapshot's body after openState checked its envelope.
type stateReader struct {
	version    byte
	checkpoint uint64
	body       []byte
}

// openState checks the envelope of a snapshot that should be of kind, written by an operator
// whose fingerprint is fingerprint in a version up to maxVersion, and returns its body.
func openState(state []byte, kind, maxVersion byte, fingerprint string) (*stateReader, error) {
	const least = len(stateMagic) + 2 + 1 + 1 + 4
	if len(state) < least {
		return nil, fmt.Errorf("state of %d bytes is too short to be a snapshot (at least %d)", len(state), least)
	}
	if string(state[:len(stateMagic)]) != stateMagic {
		return nil, fmt.Errorf("state is not an operator snapshot: it starts with % x, not %q", state[:len(stateMagic)], stateMagic)
	}
	n := len(state) - 4
	stored, computed := binary.LittleEndian.Uint32(state[n:]), crc32.Checksum(state[:n], castagnoli)
	if stored != computed {
		return nil, fmt.Errorf("state of %d bytes is corrupt: its checksum says %08x, its bytes sum to %08x", len(state), stored, computed)
	}
	r := &stateReader{body: state[len(stateMagic):n]}
	if got := r.body[0]; got != kind {
		return nil, fmt.Errorf("state is %s snapshot, not %s", kindName(got), kindName(kind))
	}
	r.version = r.body[1]
	r.body = r.body[2:]
	if r.version == 0 || r.version > maxVersion {
		return nil, fmt.Errorf("state is version %d of %s snapshot, and this build reads versions 1 to %d", r.version, kindName(kind), maxVersion)
	}
	var err error
	if r.checkpoint, err = r.uvarint("checkpoint id"); err != nil {
		return nil, err
	}
	fp, err := r.bytes("fingerprint")
	if err != nil {
		return nil, err
	}
	if string(fp) != fingerprint {
		return nil, fmt.Errorf("state has fingerprint %s but this operator's is %s: the state was written for another definition (window, keys, functions or their types)", fp, fingerprint)
	}
	return r, nil
}

func (r *stateReader) uvarint(what string) (uint64, error) {
	v, n := binary.Uvarint(r.body)
	if n <= 0 {
		return 0, fmt.Errorf("state is cut short: no %s", what)
	}
	r.body = r.body[n:]
	return v, nil
}

func (r *stateReader) varint(what string) (int64, error) {
	v, n := binary.Varint(r.body)
	if n <= 0 {
		return 0, fmt.Errorf("state is cut short: no %s", what)
	}
	r.body = r.body[n:]
	return v, nil
}

// bytes reads a uvarint length and that many bytes.
func (r *stateReader) bytes(what string) ([]byte, error) {
	n, err := r.uvarint(what + " length")
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.body)) {
		return nil, fmt.Errorf("state is cut short: %s of %d bytes, %d left", what, n, len(r.body))
	}
	b := r.body[:n]
	r.body = r.body[n:]
	return b, nil
}

// records reads the rest of the body as an Arrow IPC stream, checks the schema when want is
// not nil and every column's buffers, and returns the record batches, which the caller
// releases.
func (r *stateReader) records(mem memory.Allocator, want *arrow.Schema) ([]arrow.RecordBatch, error) {
	body := r.body
	r.body = nil
	rd, err := ipc.NewReader(bytes.NewReader(body), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("state rows are not an Arrow IPC stream: %w", err)
	}
	defer rd.Release()
	if want != nil && !want.Equal(rd.Schema()) {
		return nil, fmt.Errorf("state rows have columns %s, want %s", schemaString(rd.Schema()), schemaString(want))
	}
	var recs []arrow.RecordBatch
	fail := func(err error) ([]arrow.RecordBatch, error) {
		for _, rec := range recs {
			rec.Release()
		}
		return nil, err
	}
	for rd.Next() {
		rec := rd.RecordBatch()
		for i, c := range rec.Columns() {
			if err := array.ValidateFull(c); err != nil {
				return fail(fmt.Errorf("state column %q is damaged: %w", rec.ColumnName(i), err))
			}
		}
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rd.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fail(fmt.Errorf("state rows are not a complete Arrow IPC stream: %w", err))
	}
	return recs, nil
}

// schemaString lists a schema's columns as name type, for errors.
func schemaString(s *arrow.Schema) string {
	var b bytes.Buffer
	b.WriteByte('(')
	for i, f := range s.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", f.Name, f.Type)
	}
	b.WriteByte(')')
	return b.String()
}

// fingerprint hashes parts, each length-prefixed so that no two lists hash alike by
// concatenation, into 16 hex digits.
func fingerprint(parts ...string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// allocator returns the context's allocator, Go's heap when it has none.
func allocator(ctx Context) memory.Allocator {
	if ctx.Mem == nil {
		return memory.DefaultAllocator
	}
	return ctx.Mem
}
