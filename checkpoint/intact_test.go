package checkpoint_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"millrace/checkpoint"
	"millrace/vfs"
	"millrace/vfs/errorfs"
)

// skippedIDs returns the ids of skipped and checks that every reason is damage naming its
// checkpoint.
func skippedIDs(t *testing.T, skipped []checkpoint.Skipped) []uint64 {
	t.Helper()
	var ids []uint64
	for _, sk := range skipped {
		if !errors.Is(sk.Reason, checkpoint.ErrCorrupt) {
			t.Errorf("checkpoint %d skipped for %v, which is not damage", sk.ID, sk.Reason)
		}
		if !strings.HasPrefix(sk.Reason.Error(), fmt.Sprintf("checkpoint %d: ", sk.ID)) {
			t.Errorf("the reason %q does not name checkpoint %d", sk.Reason, sk.ID)
		}
		ids = append(ids, sk.ID)
	}
	return ids
}

// storeOf writes checkpoints 1 to n, and leaves checkpoint n+1 in progress as a crash
// would: it must be neither loaded nor reported.
func storeOf(t *testing.T, n uint64) (*checkpoint.Store, string, []checkpoint.Manifest) {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, vfs.OSFS{}, dir)
	var ms []checkpoint.Manifest
	for id := uint64(1); id <= n; id++ {
		ms = append(ms, mustWrite(t, s, id))
	}
	p, err := mustOpen(t, vfs.OSFS{}, dir).Begin(n + 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write("velocity.0", []byte("half")); err != nil {
		t.Fatal(err)
	}
	return s, dir, ms
}

func TestLatestIntactFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name        string
		damage      func(t *testing.T, dir string) // the store's
		want        uint64
		skipped     []uint64
		reason      string // what the reason for skipping checkpoint 3 says
		latestFinds uint64 // what Latest, which reads no blob, returns
	}{
		{"bytes flipped in a blob", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, chk(3), "velocity.1"), 40_000)
		}, 2, []uint64{3}, `checkpoint 3: blob "velocity.1" has CRC-32C`, 3},
		{"missing manifest", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, chk(3), "MANIFEST")); err != nil {
				t.Fatal(err)
			}
		}, 2, []uint64{3}, "checkpoint 3: no MANIFEST", 2},
		{"two damaged in a row", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, chk(3), "tx.0"), 3)
			if err := os.Truncate(filepath.Join(dir, chk(2), "velocity.0"), 10); err != nil {
				t.Fatal(err)
			}
		}, 1, []uint64{3, 2}, `checkpoint 3: blob "tx.0" has CRC-32C`, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dir, ms := storeOf(t, 3)
			tc.damage(t, dir)
			m, skipped, err := s.LatestIntact()
			if err != nil {
				t.Fatal(err)
			}
			checkLatestIs(t, s, m, ms[tc.want-1])
			if got := skippedIDs(t, skipped); !slices.Equal(got, tc.skipped) {
				t.Fatalf("skipped %v, want %v", got, tc.skipped)
			}
			if !strings.HasPrefix(skipped[0].Reason.Error(), tc.reason) {
				t.Errorf("reason %q, want it to start with %q", skipped[0].Reason, tc.reason)
			}
			said := strings.Replace(tc.reason, "checkpoint 3: ", "checkpoint 3 is damaged (", 1)
			if got := skipped[0].String(); !strings.HasPrefix(got, said) || !strings.HasSuffix(got, ")") {
				t.Errorf("String() = %q, want it to start with %q", got, said)
			}
			if l, err := s.Latest(); err != nil || l.ID != tc.latestFinds {
				t.Errorf("Latest = %d, %v; want %d", l.ID, err, tc.latestFinds)
			}
		})
	}
}

// checkLatestIs checks that got is want and that its blobs read back as written.
func checkLatestIs(t *testing.T, s *checkpoint.Store, got, want checkpoint.Manifest) {
	t.Helper()
	if got.ID != want.ID || len(got.Blobs) != len(want.Blobs) {
		t.Fatalf("got checkpoint %d, want %d", got.ID, want.ID)
	}
	checkBlobs(t, s, got)
}

func TestIntactBefore(t *testing.T) {
	s, dir, ms := storeOf(t, 3)
	m, skipped, err := s.IntactBefore(3)
	if err != nil || len(skipped) != 0 {
		t.Fatalf("IntactBefore(3) = %d, %v, %v", m.ID, skipped, err)
	}
	checkLatestIs(t, s, m, ms[1])
	flipByte(t, filepath.Join(dir, chk(1), "velocity.0"), 0)
	_, skipped, err = s.IntactBefore(2)
	if !errors.Is(err, checkpoint.ErrNone) || !slices.Equal(skippedIDs(t, skipped), []uint64{1}) {
		t.Fatalf("IntactBefore(2) with 1 damaged: %v, %v; want ErrNone after skipping 1", skipped, err)
	}
	if want := `checkpoint 1: blob "velocity.0" has CRC-32C`; !strings.Contains(err.Error(), want) {
		t.Errorf("the error %q does not say %q", err, want)
	}
}

func TestLatestIntactWhenNothingIsIntact(t *testing.T) {
	s, dir, _ := storeOf(t, 2)
	for id := uint64(1); id <= 2; id++ {
		flipByte(t, filepath.Join(dir, chk(id), "velocity.1"), 7)
	}
	_, skipped, err := s.LatestIntact()
	if !errors.Is(err, checkpoint.ErrNone) {
		t.Fatalf("LatestIntact: %v, want ErrNone", err)
	}
	if got := skippedIDs(t, skipped); !slices.Equal(got, []uint64{2, 1}) {
		t.Fatalf("skipped %v, want [2 1]", got)
	}
	empty := mustOpen(t, vfs.OSFS{}, t.TempDir())
	if _, skipped, err := empty.LatestIntact(); !errors.Is(err, checkpoint.ErrNone) || len(skipped) != 0 {
		t.Fatalf("LatestIntact of an empty store: %v, %v", skipped, err)
	}
}

// An error reading a blob that is not damage stops the search: a disk that hiccups must
// not send recovery back to an older checkpoint.
func TestLatestIntactDoesNotFallBackOnReadErrors(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.Wrap(vfs.OSFS{}, nil)
	s := mustOpen(t, efs, dir)
	mustWrite(t, s, 1)
	mustWrite(t, s, 2)
	for _, k := range []errorfs.OpKind{errorfs.OpReadDir, errorfs.OpOpen, errorfs.OpRead, errorfs.OpStat} {
		efs.SetInjector(errorfs.OnIndex(0, errorfs.Kinds(k)).WithError(syscall.EIO))
		m, skipped, err := s.LatestIntact()
		if !errors.Is(err, syscall.EIO) || errors.Is(err, checkpoint.ErrCorrupt) || len(skipped) != 0 {
			t.Errorf("LatestIntact with a failing %s: %d, %v, %v", k, m.ID, skipped, err)
		}
	}
}

// After falling back past a damaged checkpoint the run discards it, takes its id again,
// and Retain keeps the checkpoint before the newest, even when told to keep one.
func TestResumePastADamagedCheckpoint(t *testing.T) {
	s, dir, _ := storeOf(t, 3)
	flipByte(t, filepath.Join(dir, chk(3), "velocity.0"), 9)
	m, skipped, err := s.LatestIntact()
	if err != nil || m.ID != 2 || len(skipped) != 1 {
		t.Fatalf("LatestIntact = %d, %v, %v", m.ID, skipped, err)
	}
	if _, err := s.Begin(3); err == nil || !strings.Contains(err.Error(), "a complete checkpoint 3 exists") {
		t.Fatalf("Begin over the damaged checkpoint 3: %v", err)
	}
	if err := s.Discard(3); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{chk(1), chk(2), chk(4) + ".tmp"}) {
		t.Fatalf("after Discard(3) the store holds %q", got)
	}
	mustWrite(t, s, 3)
	mustWrite(t, s, 4)
	if err := s.Retain(1); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{chk(3), chk(4)}) {
		t.Fatalf("after Retain(1) the store holds %q, want the newest and the one before", got)
	}
	flipByte(t, filepath.Join(dir, chk(4), "velocity.1"), 1)
	m, _, err = s.LatestIntact()
	if err != nil || m.ID != 3 {
		t.Fatalf("with checkpoint 4 damaged, LatestIntact = %d, %v; want the 3 Retain kept", m.ID, err)
	}
	checkBlobs(t, s, m)

	p, err := s.Begin(5)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Discard(5); err == nil || !strings.Contains(err.Error(), "checkpoint 5: discard: it is in progress") {
		t.Errorf("Discard of the checkpoint in progress: %v", err)
	}
	if err := p.Abort(); err != nil {
		t.Fatal(err)
	}
}
