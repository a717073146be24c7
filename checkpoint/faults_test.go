package checkpoint_test

import (
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"millrace/checkpoint"
	"millrace/vfs/errorfs"
)

// mutatingOps counts the operations that change the filesystem when checkpoint 2 is
// written over checkpoint 1: the points at which a fault is injected.
func mutatingOps(t *testing.T, fsys func() checkpoint.FS, dir string) []errorfs.Op {
	t.Helper()
	efs := errorfs.Wrap(fsys(), nil)
	s := mustOpen(t, efs, dir)
	mustWrite(t, s, 1)
	efs.ResetOps()
	mustWrite(t, s, 2)
	var ops []errorfs.Op
	for _, op := range efs.Ops() {
		if errorfs.Mutating(op) {
			ops = append(ops, relative(op, dir))
		}
	}
	return ops
}

// TestCommitFaults fails each operation that writing a checkpoint performs, in turn, once
// or (as a full disk or a revoked permission does) from then on, and checks that the
// failure is reported with what failed, that the previous checkpoint stays loadable with
// the same bytes, and that the next checkpoint succeeds once the disk works again. It runs
// on the in-memory filesystem and, unless -short, on the disk.
func TestCommitFaults(t *testing.T) {
	filesystems := []struct {
		name string
		fs   func() checkpoint.FS
		dir  func(t *testing.T) string
	}{
		{"memory", func() checkpoint.FS { return newMemFS() }, func(*testing.T) string { return "/data/store" }},
		{"disk", func() checkpoint.FS { return checkpoint.OSFS{} }, func(t *testing.T) string { return t.TempDir() }},
	}
	modes := []struct {
		name   string
		inject func(i int) *errorfs.Nth
		want   error
	}{
		{"once", func(i int) *errorfs.Nth { return errorfs.OnIndex(i, nil) }, errorfs.ErrInjected},
		{"disk full from then on", func(i int) *errorfs.Nth {
			return errorfs.FromIndex(i, nil).WithError(syscall.ENOSPC)
		}, syscall.ENOSPC},
		{"permission denied from then on", func(i int) *errorfs.Nth {
			return errorfs.FromIndex(i, nil).WithError(syscall.EACCES)
		}, syscall.EACCES},
	}
	for _, fsc := range filesystems {
		t.Run(fsc.name, func(t *testing.T) {
			if fsc.name == "disk" && testing.Short() {
				t.Skip("fsyncs on the disk at every injection point; the memory run covers the same points")
			}
			ops := mutatingOps(t, fsc.fs, fsc.dir(t))
			kinds := map[errorfs.OpKind]int{}
			for _, op := range ops {
				kinds[op.Kind]++
			}
			for _, k := range []errorfs.OpKind{errorfs.OpMkdirAll, errorfs.OpCreate, errorfs.OpWrite, errorfs.OpSync, errorfs.OpClose, errorfs.OpRename, errorfs.OpSyncDir} {
				if kinds[k] == 0 {
					t.Fatalf("writing a checkpoint performs no %s: %v", k, ops)
				}
			}
			t.Logf("%d injection points: %v", len(ops), kinds)
			for _, mode := range modes {
				t.Run(mode.name, func(t *testing.T) {
					for i, op := range ops {
						commitFault(t, fsc.fs(), fsc.dir(t), i, op, mode.inject(i), mode.want)
					}
				})
			}
		})
	}
}

// commitFault writes checkpoint 1, then checkpoint 2 with inj failing operation i, which
// must be op, and checks what the failure left.
func commitFault(t *testing.T, fsys checkpoint.FS, dir string, i int, op errorfs.Op, inj *errorfs.Nth, want error) {
	t.Helper()
	efs := errorfs.Wrap(fsys, nil)
	s := mustOpen(t, efs, dir)
	m1 := mustWrite(t, s, 1)
	before := readTree(t, fsys, filepath.Join(dir, chk(1)))

	efs.SetInjector(inj)
	blobs, m := sample(2)
	_, err := write(s, 2, blobs, m)
	efs.SetInjector(nil) // the disk works again

	fired := inj.Fired()
	if len(fired) == 0 || relative(fired[0], dir) != op {
		t.Fatalf("point %d: failed %v, want %v", i, fired, op)
	}
	if err == nil {
		t.Fatalf("point %d (%v): writing the checkpoint succeeded", i, op)
	}
	op = fired[0]
	if !errors.Is(err, want) || !strings.Contains(err.Error(), op.String()) || !strings.HasPrefix(err.Error(), "checkpoint 2: ") {
		t.Fatalf("point %d: error %q\ndoes not name checkpoint 2 and what failed: %v", i, err, op)
	}

	if after := readTree(t, fsys, filepath.Join(dir, chk(1))); !reflect.DeepEqual(after, before) {
		t.Fatalf("point %d (%v): checkpoint 1's files changed", i, op)
	}
	checkBlobs(t, s, m1)
	latest, err := s.Latest()
	if err != nil {
		t.Fatalf("point %d (%v): Latest: %v", i, op, err)
	}
	// Only a checkpoint whose last step failed, and whose removal failed too, may
	// survive: complete, with everything synced before its rename.
	lastStep := op.Kind == errorfs.OpSyncDir && op.Path == s.Dir()
	switch {
	case reflect.DeepEqual(latest, m1):
	case latest.ID == 2 && lastStep && len(fired) > 1:
		checkBlobs(t, s, latest)
	default:
		t.Fatalf("point %d (%v): Latest is checkpoint %d", i, op, latest.ID)
	}

	next := mustWrite(t, s, latest.ID+1)
	checkLatest(t, s, next)
	if err := s.Retain(1); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, fsys, dir)
	if want := []string{chk(latest.ID), chk(next.ID)}; !slices.Equal(names, want) {
		t.Fatalf("point %d (%v): after a retry and Retain(1) the store holds %q, want %q", i, op, names, want)
	}
}

// TestCommitCrash stops the process (every operation fails from then on) at each point of
// writing a checkpoint, then loses whatever was not durable, as a power cut does. Recovery
// must find the new checkpoint if Commit returned nil, and the previous one otherwise.
func TestCommitCrash(t *testing.T) {
	const dir = "/data/.millrace/card-velocity"
	ops := mutatingOps(t, func() checkpoint.FS { return newMemFS() }, dir)
	for i := 0; i <= len(ops); i++ {
		mem := newMemFS()
		s := mustOpen(t, mem, dir)
		m1 := mustWrite(t, s, 1)

		inj := errorfs.FromIndex(i, nil)
		blobs, m := sample(2)
		m2, err := write(mustOpen(t, errorfs.Wrap(mem, inj), dir), 2, blobs, m)
		if (err == nil) != (i == len(ops)) {
			t.Fatalf("crash at point %d of %d: Commit returned %v", i, len(ops), err)
		}
		mem.crash()

		s = mustOpen(t, mem, dir)
		if err == nil {
			checkLatest(t, s, m2)
		} else {
			checkLatest(t, s, m1)
		}
		latest, _ := s.Latest()
		checkLatest(t, s, mustWrite(t, s, latest.ID+1))
	}
}

// TestClearCrash stops the process at each point of Clear and loses what was not durable:
// the store must then hold all it held, or nothing to resume, or say it is finished (and
// so is cleared again); never a part of what it held.
func TestClearCrash(t *testing.T) {
	const dir = "/store"
	for i := 0; ; i++ {
		mem := newMemFS()
		s := mustOpen(t, mem, dir)
		mustWrite(t, s, 1)
		mustWrite(t, s, 2)
		inj := errorfs.FromIndex(i, nil)
		err := mustOpen(t, errorfs.Wrap(mem, inj), dir).Clear()
		mem.crash()

		s = mustOpen(t, mem, dir)
		finished, ferr := s.Finished()
		if ferr != nil {
			t.Fatal(ferr)
		}
		infos, lerr := s.List()
		if lerr != nil {
			t.Fatal(lerr)
		}
		intact := len(infos) == 2 && infos[0].Err == nil && infos[1].Err == nil
		if !finished && !intact && len(infos) > 0 {
			t.Fatalf("crash at point %d of Clear: the store is not finished and holds %+v", i, infos)
		}
		if len(inj.Fired()) == 0 {
			if err != nil || finished {
				t.Fatalf("Clear: %v; finished after it: %v", err, finished)
			}
			return
		}
	}
}

// TestOpenIsDurable checks that the directories Open creates survive a crash.
func TestOpenIsDurable(t *testing.T) {
	mem := newMemFS()
	s := mustOpen(t, mem, "/a/b/c")
	m := mustWrite(t, s, 1)
	mem.crash()
	checkLatest(t, mustOpen(t, mem, "/a/b/c"), m)
}

// TestReadFaults checks that errors reading a checkpoint are reported, not taken for
// damage: recovery must not fall back to an older checkpoint because a disk hiccuped.
func TestReadFaults(t *testing.T) {
	dir := t.TempDir()
	efs := errorfs.Wrap(checkpoint.OSFS{}, nil)
	s := mustOpen(t, efs, dir)
	mustWrite(t, s, 1)
	m2 := mustWrite(t, s, 2)

	for _, k := range []errorfs.OpKind{errorfs.OpReadDir, errorfs.OpOpen, errorfs.OpRead, errorfs.OpStat} {
		efs.SetInjector(errorfs.OnIndex(0, errorfs.Kinds(k)).WithError(syscall.EIO))
		m, err := s.Latest()
		if !errors.Is(err, syscall.EIO) || errors.Is(err, checkpoint.ErrCorrupt) || errors.Is(err, checkpoint.ErrNone) {
			t.Errorf("Latest with a failing %s: %d, %v", k, m.ID, err)
		}
	}
	efs.SetInjector(errorfs.OnIndex(0, errorfs.Kinds(errorfs.OpRead)).WithError(syscall.EIO))
	_, err := s.Read(m2, "velocity.1")
	if !errors.Is(err, syscall.EIO) || errors.Is(err, checkpoint.ErrCorrupt) || !strings.HasPrefix(err.Error(), `checkpoint 2: read blob "velocity.1": `) {
		t.Errorf("Read with a failing read: %v", err)
	}
	efs.SetInjector(nil)
	checkLatest(t, s, m2)
}

// readTree returns every file in dir, a checkpoint's directory, and its bytes.
func readTree(t *testing.T, fsys checkpoint.FS, dir string) map[string]string {
	t.Helper()
	names := dirNames(t, fsys, dir)
	if len(names) == 0 {
		t.Fatalf("%s holds no files", dir)
	}
	files := map[string]string{}
	for _, name := range names {
		r, err := fsys.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if cerr := r.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	return files
}

// dirNames returns the names of the entries of dir, sorted.
func dirNames(t *testing.T, fsys checkpoint.FS, dir string) []string {
	t.Helper()
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

// relative returns op with its paths relative to dir, to compare the operations of
// stores in different directories.
func relative(op errorfs.Op, dir string) errorfs.Op {
	rel := func(p string) string {
		if p == "" {
			return ""
		}
		r, err := filepath.Rel(dir, p)
		if err != nil {
			return p
		}
		return r
	}
	op.Path, op.To = rel(op.Path), rel(op.To)
	return op
}
