package checkpoint

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
)

// Skipped is a checkpoint that LatestIntact or IntactBefore passed over because it is
// damaged.
type Skipped struct {
	ID uint64
	// Reason says what is damaged, naming the checkpoint and the blob or the manifest; it
	// matches ErrCorrupt.
	Reason error
}

// String says what is damaged as a run reports it, such as `checkpoint 7 is damaged (blob
// "velocity.1" has CRC-32C 1c2d3e4f, the manifest says 5a6b7c8d)`.
func (s Skipped) String() string {
	var d *damage
	if errors.As(s.Reason, &d) {
		return fmt.Sprintf("checkpoint %d is damaged (%s)", s.ID, d.detail)
	}
	return fmt.Sprintf("checkpoint %d is damaged (%v)", s.ID, s.Reason)
}

// LatestIntact returns the manifest of the newest intact checkpoint: one whose manifest is
// present and parses, and every blob of which holds the size and the CRC-32C its manifest
// records (it reads every blob, as Verify does). Newer checkpoints that are damaged are
// skipped and returned, newest first, so that the caller can say why it resumes from an
// older one; checkpoints in progress are neither loaded nor listed. When no checkpoint is
// intact the error matches ErrNone and says what was skipped.
//
// As with Latest, an error other than damage (a permission, an I/O error) and a manifest
// of another format version end the search with that error: falling back past a checkpoint
// is safe only when it is known to be bad.
func (s *Store) LatestIntact() (Manifest, []Skipped, error) {
	return s.IntactBefore(math.MaxUint64)
}

// IntactBefore is LatestIntact among the checkpoints older than id. A caller that finds the
// checkpoint LatestIntact returned unusable for a reason the store cannot see (a sink's
// pre-committed file that fails its own check) falls back with IntactBefore(m.ID).
func (s *Store) IntactBefore(id uint64) (Manifest, []Skipped, error) {
	ids, err := s.completeIDs()
	if err != nil {
		return Manifest{}, nil, err
	}
	var skipped []Skipped
	for _, cand := range slices.Backward(ids) {
		if cand >= id {
			continue
		}
		m, err := s.load(cand)
		if err == nil {
			err = s.Verify(m)
		}
		if err == nil {
			return m, skipped, nil
		}
		if !errors.Is(err, ErrCorrupt) {
			return Manifest{}, skipped, err
		}
		skipped = append(skipped, Skipped{ID: cand, Reason: err})
	}
	if len(skipped) > 0 {
		reasons := make([]error, len(skipped))
		for i, sk := range skipped {
			reasons[i] = sk.Reason
		}
		return Manifest{}, skipped, fmt.Errorf("%w (skipped %d damaged: %w)", ErrNone, len(skipped), errors.Join(reasons...))
	}
	return Manifest{}, nil, ErrNone
}

// Discard removes checkpoint id, complete, damaged or left in progress, and makes the
// removal durable. A run that resumes from a checkpoint older than a damaged one discards
// the damaged one first: the run takes the ids after its checkpoint again, and Begin does
// not overwrite a checkpoint that looks complete. It fails for the checkpoint in progress.
func (s *Store) Discard(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil && s.pending.id == id {
		return fmt.Errorf("checkpoint %d: discard: it is in progress", id)
	}
	for _, name := range []string{dirName(id), tmpName(id)} {
		if err := s.fs.RemoveAll(filepath.Join(s.dir, name)); err != nil {
			return fmt.Errorf("checkpoint %d: discard: %w", id, err)
		}
	}
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("checkpoint %d: discard: %w", id, err)
	}
	return nil
}
