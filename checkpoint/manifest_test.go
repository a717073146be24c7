package checkpoint

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFormatDocExample decodes the manifest shown in docs/format/checkpoint.md, so that
// the document keeps describing what this package reads.
func TestFormatDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/format/checkpoint.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the format document has no ```json example")
	}
	m, err := decodeManifest([]byte(example))
	if err != nil {
		t.Fatalf("the document's example: %v", err)
	}
	if m.ID != 41 || m.Final || len(m.Blobs) != 6 || len(m.Nodes) != 4 {
		t.Errorf("the document's example decodes to %+v", m)
	}
	for name, kind := range map[string]string{"tx": "source", "velocity.prepare": "prepare", "velocity": "window aggregate", "velocity_lake": "sink"} {
		if n := m.Nodes[name]; n.Kind != kind || n.Fingerprint == "" || len(n.Parts) != 2 {
			t.Errorf("the document's example has node %q = %+v, want a %s of 2 parts", name, n, kind)
		}
	}
	if kg := m.Nodes["velocity"].Parts[1].KeyGroups; kg != (KeyGroups{128, 256}) {
		t.Errorf("the document's example has velocity's subtask 1 owning key groups %v", kg)
	}
	// Its blob names are ones a checkpoint may hold, and its directory names parse.
	for _, b := range m.Blobs {
		if err := checkBlobName(b.Name); err != nil {
			t.Error(err)
		}
	}
	for _, name := range []string{"chk-00000000000000000041", "chk-00000000000000000042.tmp"} {
		if !strings.Contains(string(doc), name) {
			t.Errorf("the document does not show %s", name)
		}
		if _, _, ok := parseDirName(name); !ok {
			t.Errorf("%s does not parse", name)
		}
	}
}

func TestDirNames(t *testing.T) {
	for _, id := range []uint64{1, 41, 1<<64 - 1} {
		if got, tmp, ok := parseDirName(dirName(id)); !ok || tmp || got != id {
			t.Errorf("parseDirName(%q) = %d, %v, %v", dirName(id), got, tmp, ok)
		}
		if got, tmp, ok := parseDirName(tmpName(id)); !ok || !tmp || got != id {
			t.Errorf("parseDirName(%q) = %d, %v, %v", tmpName(id), got, tmp, ok)
		}
	}
	if dirName(41) != "chk-00000000000000000041" || dirName(9) >= dirName(10) {
		t.Errorf("dirName(41) = %s; names must sort as ids", dirName(41))
	}
	for _, name := range []string{"chk-41", "chk-0000000000000000004x", "chk-00000000000000000041.del", "xchk-00000000000000000041", "chk-99999999999999999999", "FINISHED", "MANIFEST"} {
		if _, _, ok := parseDirName(name); ok {
			t.Errorf("parseDirName(%q) accepted it", name)
		}
	}
}

func TestBlobNames(t *testing.T) {
	for _, name := range []string{"velocity.0", "a", "source-tx_3.kg0-127", strings.Repeat("x", 200)} {
		if err := checkBlobName(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	for _, name := range []string{"", ".hidden", "a/b", "..", "MANIFEST", "MANIFEST.tmp", "é", "a b", strings.Repeat("x", 201)} {
		if err := checkBlobName(name); err == nil {
			t.Errorf("%q accepted", name)
		}
	}
}

func TestValidate(t *testing.T) {
	valid := func() Manifest {
		return Manifest{
			Version: Version, ID: 3, Taken: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC),
			Nodes: map[string]Node{
				"tx": {Kind: "source", Fingerprint: "a", Parts: []Part{{Subtask: 0, Blob: "tx.0"}}},
				"v": {Kind: "window aggregate", Fingerprint: "b", Parts: []Part{
					{Subtask: 1, KeyGroups: KeyGroups{128, 256}, Blob: "v.1"},
					{Subtask: 0, KeyGroups: KeyGroups{0, 128}},
				}},
				"out": {Kind: "sink", Fingerprint: "c"},
			},
			Blobs: []Blob{{Name: "tx.0", Size: 3, CRC32C: 1}, {Name: "v.1", Size: 10, CRC32C: 7}},
		}
	}
	if m := valid(); m.validate() != nil {
		t.Fatal(m.validate())
	}
	final := valid()
	final.Final, final.Nodes, final.Blobs = true, nil, nil
	if err := final.validate(); err != nil {
		t.Errorf("a final checkpoint without nodes: %v", err)
	}
	cases := []struct {
		edit func(*Manifest)
		want string
	}{
		{func(m *Manifest) { m.Version = 2 }, "manifest version 2: this build reads version 1"},
		{func(m *Manifest) { m.ID = 0 }, "id 0"},
		{func(m *Manifest) { m.Taken = time.Time{} }, "no time taken"},
		{func(m *Manifest) { m.Blobs = append(m.Blobs, m.Blobs[1]) }, `blob "v.1" listed twice`},
		{func(m *Manifest) { m.Blobs[1].Size = -1 }, `blob "v.1": size -1`},
		{func(m *Manifest) { m.Blobs[1].Name = "../v.1" }, `blobs[1]: blob name "../v.1"`},
		{func(m *Manifest) { m.Nodes["v"].Parts[0].Blob = "w" }, `node "v": parts[0]: blob "w" is not in the checkpoint`},
		{func(m *Manifest) { m.Blobs = m.Blobs[1:] }, `node "tx": parts[0]: blob "tx.0" is not in the checkpoint`},
		{func(m *Manifest) { m.Nodes["v"].Parts[0].KeyGroups = KeyGroups{5, 4} }, `node "v": parts[0]: key groups [5, 4)`},
		{func(m *Manifest) { m.Nodes["v"].Parts[1].KeyGroups = KeyGroups{-1, 4} }, `node "v": parts[1]: key groups [-1, 4)`},
		{func(m *Manifest) { m.Nodes["v"].Parts[0].Subtask = -1 }, `node "v": parts[0]: subtask -1: a node of 2 parts has subtasks 0 to 1`},
		{func(m *Manifest) { m.Nodes["v"].Parts[0].Subtask = 2 }, `node "v": parts[0]: subtask 2: a node of 2 parts has subtasks 0 to 1`},
		{func(m *Manifest) { m.Nodes["v"].Parts[1].Subtask = 1 }, `node "v": parts[1]: subtask 1 listed twice`},
		{func(m *Manifest) { m.Nodes[""] = Node{Kind: "view"} }, `a node without a name`},
	}
	for _, c := range cases {
		m := valid()
		c.edit(&m)
		if err := m.validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %s", err, c.want)
		}
	}
}

func TestDecodeManifest(t *testing.T) {
	m := Manifest{Version: Version, ID: 1, Taken: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Final: true, Blobs: []Blob{}}
	b, err := encodeManifest(&m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeManifest(b)
	if err != nil || !got.Taken.Equal(m.Taken) || got.ID != 1 || !got.Final {
		t.Fatalf("decode(encode(m)) = %+v, %v", got, err)
	}
	for _, c := range []struct{ in, want string }{
		{`{"version": 1, "id": 1, "taken": "2026-01-02T03:04:05Z", "blobs": [], "extra": 1}`, `unknown field "extra"`},
		{`{"version": 1, "id": 1, "taken": "2026-01-02T03:04:05Z", "blobs": []} {}`, "after top-level value"},
		{`{"version": 1, "id": 1, "tak`, "unexpected end of JSON input"},
		{`{"version": 3, "id": 1, "shiny": true}`, "manifest version 3: this build reads version 1"},
	} {
		_, err := decodeManifest([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("decode %s: %v, want %s", c.in, err, c.want)
		}
	}
	var ve *versionError
	if _, err := decodeManifest([]byte(`{"version": 3}`)); !errors.As(err, &ve) {
		t.Errorf("a manifest of version 3: %v, want a versionError", err)
	}
}
