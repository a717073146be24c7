package sink

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"millrace/format"
	"millrace/op"
)

// The two-phase commit of a File sink over checkpoints; the package documentation draws
// the file layout and the state.

// stateVersion is the version of the state Snapshot writes and Restore reads.
const stateVersion = 1

// fileState is what Snapshot returns.
type fileState struct {
	Version    int    `json:"version"`
	Checkpoint uint64 `json:"checkpoint"`
	// Prefix names the run that wrote the state (FileOptions.Prefix), Subtask its subtask.
	Prefix  string        `json:"prefix,omitempty"`
	Subtask int           `json:"subtask"`
	Seq     int           `json:"seq"`
	Base    bool          `json:"base,omitempty"`
	Pending []pendingFile `json:"pending"`
	// Sweep lists subtasks that a rescale removed: Restore removes their hidden files too.
	Sweep []int `json:"sweep,omitempty"`
	// Adopt lists the subtasks of other runs whose states Merge combined with this one:
	// Restore removes their hidden files too.
	Adopt []owner `json:"adopt,omitempty"`
}

// pendingFile is a file pre-committed by a checkpoint. Paths are relative to the sink's
// root directory and slash-separated.
type pendingFile struct {
	Checkpoint uint64 `json:"checkpoint"`
	Path       string `json:"path"`
	Final      string `json:"final"`
	// Sum is checked before the file is published; it is nil in the states of builds that
	// did not record it, whose files are published unchecked.
	Sum *fileSum `json:"sum,omitempty"`
	// Upload, for a file in an object store, is the upload that Commit completes; Path is
	// then the file's key, as Final.
	Upload *pendingUpload `json:"upload,omitempty"`
}

// root is the directory the paths of the state are relative to.
func (f *File) root() string {
	if f.opts.Store != nil {
		return f.opts.Spool
	}
	if f.opts.Dir {
		return f.opts.Path
	}
	return filepath.Dir(f.opts.Path)
}

// abs is where the file of a state's path is.
func (f *File) abs(rel string) string { return filepath.Join(f.root(), filepath.FromSlash(rel)) }

// relPath is the state's path of a file named name in the partition directory dir.
func relPath(dir, name string) string { return path.Join(dir, name) }

// begin runs before the first message of a run with checkpoints that did not Restore:
// whatever hidden files an earlier run of this subtask left are in no checkpoint this run
// will commit, and would be in the way of the names it writes. A run with a prefix has
// names no earlier run used, and reads no directory for them: in a large tree of partition
// directories, that walk would delay every worker that takes units over.
func (f *File) begin() error {
	if !f.ckpt || f.begun {
		return nil
	}
	f.begun = true
	if f.opts.Prefix != "" {
		return nil
	}
	return f.sweep(nil)
}

// newStaged starts file number seq+1 of the partition directory dir under its writing name:
// a part file, or a chunk of a single file.
func (f *File) newStaged(dir string) (*part, error) {
	f.seq++
	p := &part{seq: f.seq, dir: dir, opened: f.opts.Now()}
	newEnc := func(w io.Writer) (format.Writer, error) {
		return format.NewWriter(w, f.opts.Kind, f.schema, f.opts.Write)
	}
	if f.opts.Dir {
		p.final = partName(f.opts.Prefix, f.sub, f.seq, f.opts.Kind)
		p.stem = partStem(p.final)
	} else {
		p.final = filepath.Base(f.opts.Path)
		p.stem = chunkStem(p.final, f.sub, f.seq)
		newEnc = f.newChunkEncoder
	}
	p.path = f.abs(relPath(dir, writingName(p.stem)))
	w, err := createStaged(f.opts.FS, p.path, newEnc)
	if err != nil {
		return nil, err
	}
	p.w, p.staged = w, w
	return p, nil
}

// Snapshot pre-commits for checkpoint id: it closes every open file (flushed and synced)
// and renames the files closed since the last snapshot to their pending names. The state
// names every file pre-committed and not yet published. Rows that come after it go to new
// files.
func (f *File) Snapshot(id uint64) ([]byte, error) {
	if !f.ckpt {
		return nil, fmt.Errorf("sink %s: a snapshot in a run without checkpoints", f.opts.Path)
	}
	if err := f.begin(); err != nil {
		return nil, err
	}
	dirs := make([]string, 0, len(f.open))
	for d := range f.open {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		if err := f.roll(d); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(f.closed, func(a, b *part) int { return a.seq - b.seq })
	synced := map[string]bool{}
	for len(f.closed) > 0 {
		p := f.closed[0]
		if f.opts.Store != nil {
			pf, err := f.preCommitUpload(p, id)
			if err != nil {
				return nil, fmt.Errorf("sink %s: pre-commit for checkpoint %s: %w", f.opts.Path, checkpointLabel(id), err)
			}
			f.pending = append(f.pending, pf)
			f.closed = f.closed[1:]
			continue
		}
		pend := relPath(p.dir, pendingName(p.stem, id))
		if err := f.opts.FS.Rename(p.path, f.abs(pend)); err != nil {
			return nil, fmt.Errorf("sink %s: pre-commit for checkpoint %s: %w", f.opts.Path, checkpointLabel(id), err)
		}
		f.pending = append(f.pending, pendingFile{Checkpoint: id, Path: pend, Final: relPath(p.dir, p.final), Sum: p.staged.checksum()})
		f.closed = f.closed[1:]
		synced[filepath.Dir(f.abs(pend))] = true
	}
	f.closed = nil
	if err := f.syncDirs(synced); err != nil {
		return nil, fmt.Errorf("sink %s: pre-commit for checkpoint %s: %w", f.opts.Path, checkpointLabel(id), err)
	}
	return json.Marshal(fileState{Version: stateVersion, Checkpoint: id, Prefix: f.opts.Prefix, Subtask: f.sub, Seq: f.seq,
		Base: f.base, Pending: f.pending})
}

// Commit publishes the files pre-committed by checkpoint id and every earlier one, renaming
// them to their final names. A single file is published whole, by the commit of
// op.FinalCheckpoint only. It first checks every file it is to publish against the size and
// CRC-32C the checkpoint recorded, and publishes none if one fails: the error then matches
// ErrDamaged.
func (f *File) Commit(id uint64) error {
	if !f.ckpt {
		return fmt.Errorf("sink %s: a commit in a run without checkpoints", f.opts.Path)
	}
	if err := f.begin(); err != nil {
		return err
	}
	if !f.opts.Dir {
		if id != op.FinalCheckpoint {
			return nil
		}
		return f.publishFile()
	}
	var due, rest []pendingFile
	for _, p := range f.pending {
		if p.Checkpoint > id {
			rest = append(rest, p)
		} else {
			due = append(due, p)
		}
	}
	if err := f.publishParts(due); err != nil {
		return err
	}
	f.pending = rest
	return nil
}

// publishParts checks the pre-committed part files files and, if every one is intact,
// renames them to their final names, durably.
func (f *File) publishParts(files []pendingFile) error {
	if err := f.verify(files); err != nil {
		return err
	}
	synced := map[string]bool{}
	for _, p := range files {
		if p.Upload != nil {
			if err := f.publishUpload(p); err != nil {
				return err
			}
			continue
		}
		if err := f.publishPart(p); err != nil {
			return err
		}
		synced[filepath.Dir(f.abs(p.Final))] = true
	}
	return f.syncDirs(synced)
}

// publishPart renames a pre-committed part file to its final name. A file already there and
// no longer under its pending name was published before.
func (f *File) publishPart(p pendingFile) error {
	from, to := f.abs(p.Path), f.abs(p.Final)
	err := f.opts.FS.Rename(from, to)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := f.opts.FS.Stat(to); serr == nil {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("sink %s: publish %s of checkpoint %s: %w", f.opts.Path, p.Path, checkpointLabel(p.Checkpoint), err)
	}
	return nil
}

// Restore resumes, after Open and before any message, from a checkpoint's state: it
// publishes the part files the checkpoint pre-committed (its Commit may not have run),
// completes the publishing of a single file if the state is the final one, and removes every
// other hidden file of this subtask: they hold rows written after the checkpoint, which the
// resumed run writes again. It first checks every file the state names against the size
// and CRC-32C the checkpoint recorded; if one fails it publishes and removes nothing and
// returns an error matching ErrDamaged, so that the run can resume from an older
// checkpoint instead. A state that another run wrote (another Prefix) is taken over as
// adopt says.
func (f *File) Restore(state []byte) error {
	st, err := f.parseState(state)
	if err != nil {
		return fmt.Errorf("sink %s: restore: %w", f.opts.Path, err)
	}
	if st.Prefix != f.opts.Prefix || len(st.Adopt) > 0 {
		return f.adopt(st)
	}
	if st.Subtask != f.sub {
		return fmt.Errorf("sink %s: restore: the state of subtask %d given to subtask %d", f.opts.Path, st.Subtask, f.sub)
	}
	f.ckpt, f.begun = true, true
	f.seq = st.Seq
	for _, sub := range st.Sweep {
		f.swept = append(f.swept, owner{Prefix: st.Prefix, Subtask: sub})
	}
	if f.opts.Dir {
		if err := f.publishParts(st.Pending); err != nil {
			return err
		}
		return f.sweep(nil)
	}
	f.base, f.pending = st.Base, st.Pending
	if st.Checkpoint == op.FinalCheckpoint {
		if err := f.publishFile(); err != nil {
			return err
		}
	}
	if err := f.verify(f.pending); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, p := range f.pending {
		if _, err := f.opts.FS.Stat(f.abs(p.Path)); err != nil {
			return fmt.Errorf("sink %s: chunk %s of checkpoint %s: %w", f.opts.Path, p.Path, checkpointLabel(p.Checkpoint), err)
		}
		keep[f.abs(p.Path)] = true
	}
	return f.sweep(keep)
}

// parseState reads and checks a state Snapshot wrote.
func (f *File) parseState(state []byte) (fileState, error) {
	var st fileState
	if err := json.Unmarshal(state, &st); err != nil {
		return st, err
	}
	if st.Version != stateVersion {
		return st, fmt.Errorf("state version %d, want %d", st.Version, stateVersion)
	}
	for _, p := range st.Pending {
		for _, rel := range []string{p.Path, p.Final} {
			if !filepath.IsLocal(filepath.FromSlash(rel)) {
				return st, fmt.Errorf("%q is not a path inside the sink", rel)
			}
		}
	}
	return st, nil
}

// Rescale spreads the states of a part-file sink's subtasks over n: old subtask i's
// pre-committed files go to new subtask i mod n, which publishes them and removes the
// hidden files of the old subtasks it stands for. Every new subtask numbers its files after
// the highest number any old one used, so no name is used twice, whatever subtasks came
// and went before.
func (f *File) Rescale(states [][]byte, n int, _ op.KeyOwner) ([][]byte, error) {
	if !f.opts.Dir && n != 1 {
		return nil, fmt.Errorf("sink %s: a single file is written by one subtask, not %d", f.opts.Path, n)
	}
	out := make([]fileState, n)
	for s := range out {
		out[s] = fileState{Version: stateVersion, Subtask: s}
	}
	found := false
	for i, state := range states {
		if state == nil {
			continue
		}
		st, err := f.parseState(state)
		if err != nil {
			return nil, fmt.Errorf("sink %s: rescale: subtask %d: %w", f.opts.Path, i, err)
		}
		to := &out[i%n]
		to.Pending = append(to.Pending, st.Pending...)
		to.Base = to.Base || st.Base
		to.Sweep = append(to.Sweep, st.Sweep...)
		if i >= n {
			to.Sweep = append(to.Sweep, i)
		}
		for s := range out {
			out[s].Checkpoint, out[s].Seq = max(out[s].Checkpoint, st.Checkpoint), max(out[s].Seq, st.Seq)
			out[s].Prefix = st.Prefix // the states of one run
		}
		found = true
	}
	encoded := make([][]byte, n)
	if !found {
		return encoded, nil
	}
	for s, st := range out {
		slices.SortStableFunc(st.Pending, func(a, b pendingFile) int { return cmp.Compare(a.Checkpoint, b.Checkpoint) })
		var err error
		if encoded[s], err = json.Marshal(st); err != nil {
			return nil, fmt.Errorf("sink %s: rescale: %w", f.opts.Path, err)
		}
	}
	return encoded, nil
}

// sweep removes every hidden file of this subtask but those in keep (absolute paths).
func (f *File) sweep(keep map[string]bool) error {
	synced := map[string]bool{}
	remove := func(p string) error {
		if keep[p] {
			return nil
		}
		if err := f.opts.FS.RemoveAll(p); err != nil {
			return fmt.Errorf("sink %s: remove what an earlier run left: %w", f.opts.Path, err)
		}
		synced[filepath.Dir(p)] = true
		return nil
	}
	if !f.opts.Dir {
		name := filepath.Base(f.opts.Path)
		entries, err := f.opts.FS.ReadDir(f.root())
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sink %s: %w", f.opts.Path, err)
		}
		for _, e := range entries {
			if ownsSingle(e.Name(), name) {
				if err := remove(filepath.Join(f.root(), e.Name())); err != nil {
					return err
				}
			}
		}
		return f.syncDirs(synced)
	}
	owned := func(name string) bool {
		return ownsPart(name, owner{Prefix: f.opts.Prefix, Subtask: f.sub}) ||
			slices.ContainsFunc(f.swept, func(o owner) bool { return ownsPart(name, o) })
	}
	if err := f.sweepDir(f.root(), owned, remove); err != nil {
		return err
	}
	if f.opts.Store != nil {
		if err := f.abortUploads(owned); err != nil {
			return err
		}
	}
	return f.syncDirs(synced)
}

// sweepDir calls remove for every file under dir, a partition directory or the sink's
// root, whose name owned claims, skipping hidden directories, which hold no partition.
func (f *File) sweepDir(dir string, owned func(string) bool, remove func(string) error) error {
	entries, err := f.opts.FS.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && dir == f.root():
		return nil // nothing written yet
	case err != nil:
		return fmt.Errorf("sink %s: %w", f.opts.Path, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir() && !strings.HasPrefix(e.Name(), "."):
			if err := f.sweepDir(p, owned, remove); err != nil {
				return err
			}
		case !e.IsDir() && owned(e.Name()):
			if err := remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}
