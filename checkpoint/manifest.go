package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Version is the version of the manifest format this package writes and reads.
const Version = 1

// Manifest describes one checkpoint: where every source stood, which blobs hold every
// operator's state, what every sink had pre-committed, and the size and checksum of every
// blob. The engine fills Pipeline, Spec, Taken, Sources, Operators and Sinks; Commit fills
// Version, ID and Blobs. Its JSON form is specified in docs/format/checkpoint.md.
type Manifest struct {
	// Version is the format version, Version when written by this package.
	Version int `json:"version"`
	// ID is the checkpoint's id, counting from 1; ids grow with time.
	ID uint64 `json:"id"`
	// Taken is when the checkpoint was triggered, stored as RFC 3339 in UTC.
	Taken time.Time `json:"taken"`
	// Pipeline is the pipeline's name.
	Pipeline string `json:"pipeline"`
	// Spec is a fingerprint of the pipeline spec the checkpoint was taken under; what it
	// covers is the engine's choice.
	Spec string `json:"spec"`
	// Sources maps a source's name to its positions.
	Sources map[string]Source `json:"sources,omitempty"`
	// Operators maps a stateful operator's name (a view's) to its state.
	Operators map[string]Operator `json:"operators,omitempty"`
	// Sinks maps a sink's name to what it pre-committed for this checkpoint, as the sink
	// encoded it.
	Sinks map[string]json.RawMessage `json:"sinks,omitempty"`
	// Blobs lists every blob of the checkpoint, sorted by name.
	Blobs []Blob `json:"blobs"`
}

// Source holds where a source's partitions stood when the checkpoint's barrier left it.
type Source struct {
	// Partitions holds one position per partition, indexed by partition number, each as
	// the source encoded it (JSON; null for a partition that has no position).
	Partitions []json.RawMessage `json:"partitions"`
}

// Operator holds the state of one stateful operator.
type Operator struct {
	// Schema is a fingerprint of the operator's state schema: a resumed run loads the
	// state only if its own fingerprint is the same, so a view whose definition changed
	// starts afresh while the others keep their state.
	Schema string `json:"schema"`
	// Parts lists the blobs of the state, one per subtask and range of key groups.
	Parts []Part `json:"parts"`
}

// Part is the state of one subtask over a range of key groups, held in one blob.
type Part struct {
	Subtask   int       `json:"subtask"`
	KeyGroups KeyGroups `json:"key_groups"`
	// Blob names the blob in Manifest.Blobs that holds the state; it is empty for a
	// subtask that kept none, so that Parts still records every subtask.
	Blob string `json:"blob,omitempty"`
}

// KeyGroups is the half-open range [Start, End) of key groups. An operator without keyed
// state uses the empty range {0, 0}.
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
// time, well-formed blobs, and operator parts that name listed blobs. It does not look at
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
	for name, s := range m.Sources {
		for p, pos := range s.Partitions {
			if len(pos) > 0 && !json.Valid(pos) {
				return fmt.Errorf("manifest: sources.%s.partitions[%d]: not JSON: %.40q", name, p, pos)
			}
		}
	}
	for name, o := range m.Operators {
		for i, p := range o.Parts {
			if p.Blob != "" && !seen[p.Blob] {
				return fmt.Errorf("manifest: operators.%s.parts[%d]: blob %q is not in the checkpoint", name, i, p.Blob)
			}
			if p.Subtask < 0 {
				return fmt.Errorf("manifest: operators.%s.parts[%d]: subtask %d", name, i, p.Subtask)
			}
			if kg := p.KeyGroups; kg.Start < 0 || kg.End < kg.Start {
				return fmt.Errorf("manifest: operators.%s.parts[%d]: key groups [%d, %d)", name, i, kg.Start, kg.End)
			}
		}
	}
	for name, s := range m.Sinks {
		if len(s) > 0 && !json.Valid(s) {
			return fmt.Errorf("manifest: sinks.%s: not JSON: %.40q", name, s)
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
