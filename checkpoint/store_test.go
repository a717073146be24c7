package checkpoint_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"millrace/checkpoint"
)

func chk(id uint64) string { return fmt.Sprintf("chk-%020d", id) }

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".millrace", "card-velocity")
	s := mustOpen(t, checkpoint.OSFS{}, dir)
	if _, err := s.Latest(); !errors.Is(err, checkpoint.ErrNone) {
		t.Fatalf("Latest of an empty store: %v, want ErrNone", err)
	}
	m := mustWrite(t, s, 1)
	if m.Version != checkpoint.Version || m.ID != 1 || len(m.Blobs) != 4 {
		t.Fatalf("Commit returned version %d, id %d, %d blobs", m.Version, m.ID, len(m.Blobs))
	}
	if !slices.IsSortedFunc(m.Blobs, func(a, b checkpoint.Blob) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("blobs not sorted by name: %+v", m.Blobs)
	}
	checkLatest(t, s, m)
	checkLatest(t, mustOpen(t, checkpoint.OSFS{}, dir), m) // as a new process sees it
	if err := s.Verify(m); err != nil {
		t.Fatal(err)
	}

	if got, want := listDir(t, dir), []string{chk(1)}; !slices.Equal(got, want) {
		t.Errorf("store holds %q, want %q", got, want)
	}
	if got, want := listDir(t, filepath.Join(dir, chk(1))), []string{"MANIFEST", "alerts.0", "tx.0", "velocity.0", "velocity.1"}; !slices.Equal(got, want) {
		t.Errorf("checkpoint holds %q, want %q", got, want)
	}
	raw, err := os.ReadFile(filepath.Join(dir, chk(1), "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version": 1,`, `"id": 1,`, `"taken": "2026-11-23T14:00:01.25Z"`, `"crc32c": `} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("MANIFEST lacks %s:\n%s", want, raw)
		}
	}

	m2 := mustWrite(t, s, 2)
	checkLatest(t, s, m2)
	checkBlobs(t, s, m) // the older one is still there until Retain
}

func TestLatestSkipsIncompleteAndDamaged(t *testing.T) {
	damages := []struct {
		name   string
		damage func(t *testing.T, dir string) // dir is checkpoint 3's
	}{
		{"truncated blob", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "velocity.1"), 1000); err != nil {
				t.Fatal(err)
			}
		}},
		{"longer blob", func(t *testing.T, dir string) {
			appendFile(t, filepath.Join(dir, "velocity.0"), []byte("x"))
		}},
		{"missing blob", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "alerts.0")); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing manifest", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated manifest", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, "MANIFEST"), 100); err != nil {
				t.Fatal(err)
			}
		}},
		{"corrupted manifest", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "MANIFEST"), 0)
		}},
		{"manifest of another checkpoint", func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), chk(2), "MANIFEST"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"manifest naming an unknown blob", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				m["nodes"].(map[string]any)["alerts"].(map[string]any)["parts"].([]any)[0].(map[string]any)["blob"] = "gone.0"
			})
		}},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, checkpoint.OSFS{}, dir)
			mustWrite(t, s, 1)
			m2 := mustWrite(t, s, 2)
			mustWrite(t, s, 3)
			// A checkpoint left in progress by a crash, newer than the rest.
			p, err := mustOpen(t, checkpoint.OSFS{}, dir).Begin(4)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Write("velocity.0", []byte("half")); err != nil {
				t.Fatal(err)
			}
			d.damage(t, filepath.Join(dir, chk(3)))

			checkLatest(t, s, m2)
			infos, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, in := range infos {
				got = append(got, fmt.Sprintf("%d %v %v", in.ID, in.InProgress, errors.Is(in.Err, checkpoint.ErrCorrupt)))
			}
			if want := []string{"4 true false", "3 false true", "2 false false", "1 false false"}; !slices.Equal(got, want) {
				t.Errorf("List = %q, want %q", got, want)
			}
			if !strings.Contains(infos[1].Err.Error(), "checkpoint 3: ") {
				t.Errorf("the damage does not name the checkpoint: %v", infos[1].Err)
			}
		})
	}
}

func TestLatestNoneSaysWhatItSkipped(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, checkpoint.OSFS{}, dir)
	mustWrite(t, s, 1)
	if err := os.Truncate(filepath.Join(dir, chk(1), "velocity.1"), 3); err != nil {
		t.Fatal(err)
	}
	_, err := s.Latest()
	if !errors.Is(err, checkpoint.ErrNone) {
		t.Fatalf("Latest: %v, want ErrNone", err)
	}
	if want := `checkpoint 1: blob "velocity.1" holds 3 bytes, the manifest says 70000`; !strings.Contains(err.Error(), want) {
		t.Errorf("Latest: %v\nwant it to say %s", err, want)
	}
}

func TestReadVerifiesChecksum(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, checkpoint.OSFS{}, dir)
	mustWrite(t, s, 1)
	m2 := mustWrite(t, s, 2)
	// Same size, one bit changed: Latest's cheap check passes, Read and Verify do not.
	flipByte(t, filepath.Join(dir, chk(2), "velocity.1"), 5000)
	m, err := s.Latest()
	if err != nil || m.ID != 2 {
		t.Fatalf("Latest = %d, %v; want checkpoint 2", m.ID, err)
	}
	_, err = s.Read(m2, "velocity.1")
	if !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Fatalf("Read of a corrupted blob: %v, want ErrCorrupt", err)
	}
	if want := `checkpoint 2: blob "velocity.1" has CRC-32C`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Read: %v\nwant it to start with %s", err, want)
	}
	if err := s.Verify(m2); !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), `"velocity.1"`) {
		t.Errorf("Verify: %v, want ErrCorrupt naming the blob", err)
	}
	if _, err := s.Read(m2, "velocity.0"); err != nil {
		t.Errorf("an intact blob of the same checkpoint: %v", err)
	}
	if _, err := s.Read(m2, "nope"); err == nil || !strings.Contains(err.Error(), `checkpoint 2: no blob "nope"`) {
		t.Errorf("Read of a blob not in the manifest: %v", err)
	}
	// The caller falls back to the next complete checkpoint that List names.
	infos, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[1].Err != nil {
		t.Fatalf("List = %+v", infos)
	}
	checkBlobs(t, s, infos[1].Manifest)
	if err := s.Verify(infos[1].Manifest); err != nil {
		t.Fatal(err)
	}
}

func TestRetain(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, checkpoint.OSFS{}, dir)
	for id := uint64(1); id <= 7; id++ {
		mustWrite(t, s, id)
	}
	// 7 is damaged; 8.tmp was left by a crash; 9 is in progress now; a file not the
	// store's own stays.
	if err := os.Truncate(filepath.Join(dir, chk(7), "velocity.0"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, chk(8)+".tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := s.Begin(9)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Retain(0); err == nil {
		t.Error("Retain(0) succeeded")
	}
	if err := s.Retain(2); err != nil {
		t.Fatal(err)
	}
	want := []string{chk(5), chk(6), chk(9) + ".tmp", "notes.txt"}
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after Retain(2) the store holds %q, want %q", got, want)
	}
	blobs, m := sample(9)
	for _, b := range blobs {
		if err := p.Write(b.name, b.data); err != nil {
			t.Fatal(err)
		}
	}
	m9, err := p.Commit(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Retain(1); err != nil {
		t.Fatal(err)
	}
	// Retain keeps the one before the newest to fall back to, even when told to keep one.
	if got, want := listDir(t, dir), []string{chk(6), chk(9), "notes.txt"}; !slices.Equal(got, want) {
		t.Fatalf("after Retain(1) the store holds %q, want %q", got, want)
	}
	checkLatest(t, s, m9)
}

func TestFinishedAndClear(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, checkpoint.OSFS{}, dir)
	finished := func(s *checkpoint.Store, want bool) {
		t.Helper()
		got, err := s.Finished()
		if err != nil || got != want {
			t.Fatalf("Finished = %v, %v; want %v", got, err, want)
		}
	}
	finished(s, false)
	m1 := mustWrite(t, s, 1)
	if err := s.MarkFinished(); err != nil {
		t.Fatal(err)
	}
	finished(s, true)
	finished(mustOpen(t, checkpoint.OSFS{}, dir), true)
	checkLatest(t, s, m1) // the marker hides nothing; the caller decides

	// A new run begins: the marker goes.
	m2 := mustWrite(t, s, 2)
	finished(s, false)
	checkLatest(t, s, m2)

	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, chk(3)+".tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	finished(s, false)
	if _, err := s.Latest(); !errors.Is(err, checkpoint.ErrNone) {
		t.Fatalf("Latest after Clear: %v", err)
	}
	if got, want := listDir(t, dir), []string{"notes.txt"}; !slices.Equal(got, want) {
		t.Fatalf("after Clear the store holds %q, want %q", got, want)
	}
	// Ids may start over after Clear.
	checkLatest(t, s, mustWrite(t, s, 1))

	p, err := s.Begin(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(); err == nil || !strings.Contains(err.Error(), "checkpoint 2 is in progress") {
		t.Errorf("Clear during a checkpoint: %v", err)
	}
	if err := s.MarkFinished(); err == nil || !strings.Contains(err.Error(), "checkpoint 2 is in progress") {
		t.Errorf("MarkFinished during a checkpoint: %v", err)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
}

func TestBegin(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, checkpoint.OSFS{}, dir)
	if _, err := s.Begin(0); err == nil {
		t.Error("Begin(0) succeeded")
	}
	m1 := mustWrite(t, s, 1)
	if _, err := s.Begin(1); err == nil || !strings.Contains(err.Error(), "a complete checkpoint 1 exists") {
		t.Errorf("Begin over a complete checkpoint: %v", err)
	}

	p, err := s.Begin(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(3); err == nil || !strings.Contains(err.Error(), "checkpoint 2 is in progress") {
		t.Errorf("a second Begin: %v", err)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := p.Abort(); err != nil {
		t.Errorf("a second Abort: %v", err)
	}
	if got, want := listDir(t, dir), []string{chk(1)}; !slices.Equal(got, want) {
		t.Errorf("after Abort the store holds %q, want %q", got, want)
	}

	// What a crash left with the same id is replaced: a .tmp, or a damaged checkpoint.
	if err := os.MkdirAll(filepath.Join(dir, chk(2)+".tmp", "junk"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, 2)
	if err := os.Remove(filepath.Join(dir, chk(2), "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	checkLatest(t, s, m1)
	checkLatest(t, s, mustWrite(t, s, 2))
}

func TestPendingMisuse(t *testing.T) {
	s := mustOpen(t, checkpoint.OSFS{}, t.TempDir())
	m0 := mustWrite(t, s, 1)
	blobs, m := sample(2)
	cases := []struct {
		name string
		run  func(p *checkpoint.Pending) error
		want string
	}{
		{"bad blob name", func(p *checkpoint.Pending) error { return p.Write("../x", nil) }, `blob name "../x": want letters, digits`},
		{"reserved blob name", func(p *checkpoint.Pending) error { return p.Write("MANIFEST", nil) }, `names starting with MANIFEST`},
		{"blob written twice", func(p *checkpoint.Pending) error {
			if err := p.Write("a", nil); err != nil {
				return err
			}
			return p.Write("a", nil)
		}, `checkpoint 2: blob "a" is written twice`},
		{"blob left open", func(p *checkpoint.Pending) error {
			writeAll(p, blobs[:1])
			if _, err := p.Create("velocity.1"); err != nil {
				return err
			}
			_, err := p.Commit(m)
			return err
		}, `checkpoint 2: commit: blobs not closed: velocity.1`},
		{"manifest names a blob not written", func(p *checkpoint.Pending) error {
			writeAll(p, blobs[:2])
			_, err := p.Commit(m)
			return err
		}, `manifest: node "alerts": parts[0]: blob "alerts.0" is not in the checkpoint`},
		{"manifest of another id", func(p *checkpoint.Pending) error {
			writeAll(p, blobs)
			m := m
			m.ID = 7
			_, err := p.Commit(m)
			return err
		}, `checkpoint 2: commit: the manifest says id 7`},
		{"no time taken", func(p *checkpoint.Pending) error {
			writeAll(p, blobs)
			m := m
			m.Taken = time.Time{}
			_, err := p.Commit(m)
			return err
		}, `manifest: no time taken`},
		{"subtask listed twice", func(p *checkpoint.Pending) error {
			writeAll(p, blobs)
			m := m
			m.Nodes = maps.Clone(m.Nodes)
			m.Nodes["tx"] = checkpoint.Node{Kind: "source", Fingerprint: "f", Parts: []checkpoint.Part{{Subtask: 0, Blob: "tx.0"}, {Subtask: 0}}}
			_, err := p.Commit(m)
			return err
		}, `manifest: node "tx": parts[1]: subtask 0 listed twice`},
		{"commit twice", func(p *checkpoint.Pending) error {
			writeAll(p, blobs)
			if _, err := p.Commit(m); err != nil {
				return err
			}
			_, err := p.Commit(m)
			return err
		}, `checkpoint 2: commit: already committed or aborted`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := s.Clear(); err != nil {
				t.Fatal(err)
			}
			m0 = mustWrite(t, s, 1)
			p, err := s.Begin(2)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = p.Abort() }()
			err = c.run(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v\nwant one containing %s", err, c.want)
			}
			if err := p.Abort(); err != nil {
				t.Fatal(err)
			}
			if c.name != "commit twice" {
				checkLatest(t, s, m0)
			}
		})
	}
}

func writeAll(p *checkpoint.Pending, blobs []blob) {
	for _, b := range blobs {
		if err := p.Write(b.name, b.data); err != nil {
			panic(err)
		}
	}
}

func TestConcurrentBlobs(t *testing.T) {
	s := mustOpen(t, checkpoint.OSFS{}, t.TempDir())
	p, err := s.Begin(1)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Abort() }()
	_, m := sample(1)
	m.Nodes = map[string]checkpoint.Node{"velocity": {Kind: "window aggregate", Fingerprint: "f"}}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		part := checkpoint.Part{Subtask: i, KeyGroups: checkpoint.KeyGroups{Start: 16 * i, End: 16 * (i + 1)}, Blob: fmt.Sprintf("velocity.%d", i)}
		node := m.Nodes["velocity"]
		node.Parts = append(node.Parts, part)
		m.Nodes["velocity"] = node
		wg.Go(func() {
			data := bytes.Repeat([]byte{byte(i)}, 1000*(i+1))
			if i%2 == 0 {
				errs[i] = p.Write(part.Blob, data)
				return
			}
			errs[i] = stream(p, blob{part.Blob, data})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := p.Commit(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range errs {
		data, err := s.Read(got, fmt.Sprintf("velocity.%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, bytes.Repeat([]byte{byte(i)}, 1000*(i+1))) {
			t.Errorf("blob %d reads back different bytes", i)
		}
	}
}

func TestManifestOfAnotherVersionIsNotSkipped(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, checkpoint.OSFS{}, dir)
	mustWrite(t, s, 1)
	mustWrite(t, s, 2)
	editManifest(t, filepath.Join(dir, chk(2)), func(m map[string]any) { m["version"] = 2 })
	_, err := s.Latest()
	if err == nil || errors.Is(err, checkpoint.ErrCorrupt) || errors.Is(err, checkpoint.ErrNone) {
		t.Fatalf("Latest with a newer manifest on top: %v, want an error that is neither damage nor none", err)
	}
	if want := "checkpoint 2: manifest version 2: this build reads version 1"; err.Error() != want {
		t.Errorf("Latest: %v, want %s", err, want)
	}
}

func appendFile(t *testing.T, name string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, name string, at int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x20
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func editManifest(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	name := filepath.Join(dir, "MANIFEST")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
