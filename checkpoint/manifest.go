package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Version is the version of the manifest format this package writes and reads.
const Version = 1

// Manifest describes one checkpoint: for every step of the dataflow (source, operator and
// sink alike), which blobs hold the state of its subtasks, and the size and checksum of
// every blob. The engine fills Taken, Pipeline, Final and Nodes; Commit fills Version, ID
// and Blobs. Its JSON form is specified in docs/format/checkpoint.md.
type Manifest struct {
	// Version is the format version, Version when written by this package.
	Version int `json:"version"`
	// ID is the checkpoint's id, counting from 1; ids grow with time.
	ID uint64 `json:"id"`
	// Taken is when the checkpoint was triggered, stored as RFC 3339 in UTC.
	Taken time.Time `json:"taken"`
	// Pipeline is the pipeline's name.
	Pipeline string `json:"pipeline"`
	// Final marks the checkpoint taken after all input ended: the run has nothing left to
	// resume, and its sinks publish what it made ready.
	Final bool `json:"final"`
	// Nodes maps the name of each step of the dataflow to its state.
	Nodes map[string]Node `json:"nodes"`
	// Blobs lists every blob of the checkpoint, sorted by name.
	Blobs []Blob `json:"blobs"`
}

// Node is the state of one step of the dataflow at the checkpoint: a source's positions,
// an operator's state, a sink's pre-committed files, one part per subtask.
type Node struct {
	// Kind is the step's kind as the plan names it: source, sink, window aggregate, ...
	Kind string `json:"kind"`
	// Fingerprint identifies what the step does; a resumed run takes the state back only
	// if its own step has the same fingerprint (a changed view starts afresh; a changed
	// source or sink is refused).
	Fingerprint string `json:"fingerprint"`
	// Parts holds one part per subtask: subtasks 0 to len(Parts)-1, each once, so the
	// step ran with parallelism len(Parts).
	Parts []Part `json:"parts"`
	// Watermark is the least event-time watermark of the step's subtasks when they took
	// their parts, if they had one: a window of the step ending after it was still open.
	Watermark *time.Time `json:"watermark,omitempty"`
}

// Part is the state of one subtask of a step, over a range of key groups, held in one
// blob.
type Part struct {
	Subtask   int       `json:"subtask"`
	KeyGroups KeyGroups `json:"key_groups"`
	// Blob names the blob in Manifest.Blobs that holds the state; it is empty for a
	// subtask that kept none, so that Parts still records every subtask.
	Blob string `json:"blob,omitempty"`
}

// KeyGroups is the half-open range [Start, End) of key groups a subtask owns. A step
// without keyed state, or one that does not say, uses the empty range {0, 0}.
type KeyGroups struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Blob is one file of a checkpoint, with what Latest and Read verify it against.
type Blob struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// CRC32C is the CRC-32 (Castagnoli) of the blob's bytes.
	CRC32C uint32 `json:"crc32c"`
}

// Blob returns the blob called name and whether the manifest lists it.
func (m *Manifest) Blob(name string) (Blob, bool) {
	for _, b := range m.Blobs {
		if b.Name == name {
			return b, true
		}
	}
	return Blob{}, false
}

// validate checks what a manifest must hold to be loaded: a known version, an id, a
// time, well-formed blobs, and nodes whose parts name listed blobs, count their subtasks
// from 0 without gaps or repeats, and have well-formed key groups. It does not look at
// the disk.
func (m *Manifest) validate() error {
	if m.Version != Version {
		return &versionError{m.Version}
	}
	if m.ID == 0 {
		return errors.New("manifest: id 0: ids count from 1")
	}
	if m.Taken.IsZero() {
		return errors.New("manifest: no time taken")
	}
	seen := make(map[string]bool, len(m.Blobs))
	for i, b := range m.Blobs {
		if err := checkBlobName(b.Name); err != nil {
			return fmt.Errorf("manifest: blobs[%d]: %w", i, err)
		}
		if seen[b.Name] {
			return fmt.Errorf("manifest: blob %q listed twice", b.Name)
		}
		seen[b.Name] = true
		if b.Size < 0 {
			return fmt.Errorf("manifest: blob %q: size %d", b.Name, b.Size)
		}
	}
	// In order of name, so that a manifest with several faults always reports the same.
	for _, name := range slices.Sorted(maps.Keys(m.Nodes)) {
		if name == "" {
			return errors.New("manifest: a node without a name")
		}
		parts := m.Nodes[name].Parts
		subtasks := make([]bool, len(parts))
		for i, p := range parts {
			if p.Blob != "" && !seen[p.Blob] {
				return fmt.Errorf("manifest: node %q: parts[%d]: blob %q is not in the checkpoint", name, i, p.Blob)
			}
			if p.Subtask < 0 || p.Subtask >= len(parts) {
				return fmt.Errorf("manifest: node %q: parts[%d]: subtask %d: a node of %d parts has subtasks 0 to %d", name, i, p.Subtask, len(parts), len(parts)-1)
			}
			if subtasks[p.Subtask] {
				return fmt.Errorf("manifest: node %q: parts[%d]: subtask %d listed twice", name, i, p.Subtask)
			}
			subtasks[p.Subtask] = true
			if kg := p.KeyGroups; kg.Start < 0 || kg.End < kg.Start {
				return fmt.Errorf("manifest: node %q: parts[%d]: key groups [%d, %d)", name, i, kg.Start, kg.End)
			}
		}
	}
	return nil
}

// encodeManifest returns the manifest's JSON, indented for people who look, with a final
// newline.
func encodeManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeManifest parses and validates a manifest. Unknown fields are an error: a
// manifest this build does not fully understand is not one it may resume from.
func decodeManifest(b []byte) (Manifest, error) {
	// The version first, so that a newer manifest is reported as such rather than as
	// fields this build does not know. Unmarshal also rejects anything after the object.
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if v.Version != Version {
		return Manifest{}, &versionError{v.Version}
	}
	var m Manifest
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// versionError is a manifest of a format version this build does not read: not damage,
// so Latest reports it instead of falling back to an older checkpoint.
type versionError struct{ version int }

func (e *versionError) Error() string {
	return fmt.Sprintf("manifest version %d: this build reads version %d", e.version, Version)
}
