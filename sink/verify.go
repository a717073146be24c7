package sink

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"

	"millrace/op"
)

// ErrDamaged is matched (with errors.Is) by the error of a Commit or Restore that found a
// pre-committed file not as its checkpoint recorded it: missing, of another size, or of
// another CRC-32C. The sink then publishes none of the checkpoint's files. The checkpoint
// is damaged: a resume falls back to an older intact one, whose replay writes the rows
// again.
var ErrDamaged = errors.New("sink: damaged pre-committed file")

// castagnoli is the CRC-32C table, the checksum checkpoints use for their blobs too.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileSum is what a checkpoint records of a pre-committed file, to check it before it is
// published.
type fileSum struct {
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
}

// DamagedError describes a pre-committed file that does not hold what its checkpoint
// recorded. It matches ErrDamaged.
type DamagedError struct {
	// Path is the file as the sink found it, or its pre-committed name when it is missing.
	Path string
	// Checkpoint is the id of the checkpoint that pre-committed it.
	Checkpoint uint64
	// WantSize and WantCRC32C are what the checkpoint recorded; Size and CRC32C what the
	// file holds, Size -1 when it is missing.
	WantSize, Size     int64
	WantCRC32C, CRC32C uint32
}

func (e *DamagedError) Error() string {
	what := fmt.Sprintf("pre-committed file %s of checkpoint %s", e.Path, checkpointLabel(e.Checkpoint))
	switch {
	case e.Size < 0:
		return fmt.Sprintf("%s is missing (%d bytes expected)", what, e.WantSize)
	case e.Size != e.WantSize:
		return fmt.Sprintf("%s holds %d bytes, %d expected", what, e.Size, e.WantSize)
	}
	return fmt.Sprintf("%s has CRC-32C %08x, %08x expected (%d bytes)", what, e.CRC32C, e.WantCRC32C, e.Size)
}

// Is makes a DamagedError match ErrDamaged.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// Verify checks, changing nothing, that every file that state (what Snapshot returned)
// names holds the size and CRC-32C recorded for it, as Restore does before it publishes.
// The error matches ErrDamaged when one does not. A resume calls it for the state of every
// subtask of every file sink before any Restore, so that a damaged checkpoint is found
// before any sink publishes from it.
func (f *File) Verify(state []byte) error {
	st, err := f.parseState(state)
	if err != nil {
		return fmt.Errorf("sink %s: verify: %w", f.opts.Path, err)
	}
	if !f.opts.Dir && st.Checkpoint == op.FinalCheckpoint {
		stage, _, err := f.publishStage(st.Pending)
		if err != nil {
			return fmt.Errorf("sink %s: verify: %w", f.opts.Path, err)
		}
		if stage != chunks {
			return nil // the chunks were assembled, and may be gone
		}
	}
	return f.verify(st.Pending)
}

// verify checks that every file of files holds the size and CRC-32C its checkpoint
// recorded, under its pre-committed name or, for a part file a commit published already,
// under its final name. Files recorded without a checksum (by a build that did not record
// them) are not checked. It reads every file whole.
func (f *File) verify(files []pendingFile) error {
	for _, p := range files {
		if p.Sum == nil || p.Upload != nil { // the store checks an upload's parts
			continue
		}
		if err := f.verifyOne(p); err != nil {
			return fmt.Errorf("sink %s: %w", f.opts.Path, err)
		}
	}
	return nil
}

func (f *File) verifyOne(p pendingFile) error {
	paths := []string{f.abs(p.Path)}
	if f.opts.Dir {
		paths = append(paths, f.abs(p.Final))
	}
	for _, path := range paths {
		size, crc, err := f.checksum(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check %s of checkpoint %s: %w", path, checkpointLabel(p.Checkpoint), err)
		}
		if size != p.Sum.Size || crc != p.Sum.CRC32C {
			return &DamagedError{Path: path, Checkpoint: p.Checkpoint, WantSize: p.Sum.Size, Size: size, WantCRC32C: p.Sum.CRC32C, CRC32C: crc}
		}
		return nil
	}
	return &DamagedError{Path: paths[0], Checkpoint: p.Checkpoint, WantSize: p.Sum.Size, Size: -1, WantCRC32C: p.Sum.CRC32C}
}

// checksum reads the file at path and returns its size and CRC-32C.
func (f *File) checksum(path string) (int64, uint32, error) {
	r, err := f.opts.FS.Open(path)
	if err != nil {
		return 0, 0, err
	}
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return n, h.Sum32(), err
}
