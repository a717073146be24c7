package checkpoint_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"millrace/checkpoint"
)

// blob is a blob a test writes, with the bytes it must read back.
type blob struct {
	name string
	data []byte
}

// sample returns the blobs and the manifest of a checkpoint such as the engine would
// write for the card-velocity pipeline: a source of two subtasks, one of them without
// positions; a stateless step; the two subtasks of a windowed view over ranges of key
// groups, one of them streamed; and a sink whose pre-commit is an empty blob. Different
// ids give different contents.
func sample(id uint64) ([]blob, checkpoint.Manifest) {
	r := rand.New(rand.NewPCG(id, 7))
	data := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	blobs := []blob{
		{"velocity.0", data(10_000 + int(id))},
		{"velocity.1", data(70_000)},
		{"tx.0", fmt.Appendf(nil, `{"file":"data/tx/day1.jsonl","offset":%d}`, 1000*id)},
		{"alerts.0", nil},
	}
	m := checkpoint.Manifest{
		Taken:    time.Date(2026, 11, 23, 14, 0, int(id), 250_000_000, time.UTC),
		Pipeline: "card-velocity",
		Nodes: map[string]checkpoint.Node{
			"tx": {Kind: "source", Fingerprint: "3f0c9a1e5b7d2468", Parts: []checkpoint.Part{
				{Subtask: 0, Blob: "tx.0"},
				{Subtask: 1},
			}},
			"velocity.prepare": {Kind: "prepare", Fingerprint: "77b2d4105e9c3a61", Parts: []checkpoint.Part{
				{Subtask: 0},
				{Subtask: 1},
			}},
			"velocity": {Kind: "window aggregate", Fingerprint: "9a0e5c31d2f4b7a8", Parts: []checkpoint.Part{
				{Subtask: 0, KeyGroups: checkpoint.KeyGroups{Start: 0, End: 128}, Blob: "velocity.0"},
				{Subtask: 1, KeyGroups: checkpoint.KeyGroups{Start: 128, End: 256}, Blob: "velocity.1"},
			}},
			"alerts": {Kind: "sink", Fingerprint: "c41e08f2a9b35d76", Parts: []checkpoint.Part{
				{Subtask: 0, Blob: "alerts.0"},
			}},
		},
	}
	return blobs, m
}

// write takes checkpoint id the way the engine does, streaming the second blob, and
// returns the first error; a blob that fails aborts the checkpoint.
func write(s *checkpoint.Store, id uint64, blobs []blob, m checkpoint.Manifest) (checkpoint.Manifest, error) {
	p, err := s.Begin(id)
	if err != nil {
		return checkpoint.Manifest{}, err
	}
	defer func() { _ = p.Abort() }()
	for i, b := range blobs {
		if i == 1 {
			err = stream(p, b)
		} else {
			err = p.Write(b.name, b.data)
		}
		if err != nil {
			return checkpoint.Manifest{}, err
		}
	}
	return p.Commit(m)
}

// stream writes b in pieces of 4 KiB.
func stream(p *checkpoint.Pending, b blob) error {
	w, err := p.Create(b.name)
	if err != nil {
		return err
	}
	for rest := b.data; len(rest) > 0; {
		n := min(len(rest), 4096)
		if _, err := w.Write(rest[:n]); err != nil {
			_ = w.Close()
			return err
		}
		rest = rest[n:]
	}
	return w.Close()
}

func mustOpen(t testing.TB, fsys checkpoint.FS, dir string) *checkpoint.Store {
	t.Helper()
	s, err := checkpoint.Open(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustWrite(t testing.TB, s *checkpoint.Store, id uint64) checkpoint.Manifest {
	t.Helper()
	blobs, m := sample(id)
	got, err := write(s, id, blobs, m)
	if err != nil {
		t.Fatalf("checkpoint %d: %v", id, err)
	}
	return got
}

// checkLatest checks that Latest returns want and that every blob reads back as sample
// wrote it.
func checkLatest(t testing.TB, s *checkpoint.Store, want checkpoint.Manifest) {
	t.Helper()
	got, err := s.Latest()
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Latest = checkpoint %d\n%+v\nwant checkpoint %d\n%+v", got.ID, got, want.ID, want)
	}
	checkBlobs(t, s, got)
}

// checkBlobs checks that every blob of m reads back as sample wrote it.
func checkBlobs(t testing.TB, s *checkpoint.Store, m checkpoint.Manifest) {
	t.Helper()
	blobs, _ := sample(m.ID)
	if len(m.Blobs) != len(blobs) {
		t.Fatalf("checkpoint %d has %d blobs, want %d", m.ID, len(m.Blobs), len(blobs))
	}
	for _, b := range blobs {
		data, err := s.Read(m, b.name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, b.data) {
			t.Fatalf("checkpoint %d: blob %q reads back different bytes", m.ID, b.name)
		}
	}
}
