package sink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"millrace/format"
)

// A single file with checkpoints: its rows wait in chunks until the final commit assembles
// them into the file (see the package documentation).

// newChunkEncoder encodes a chunk of a single file as an Arrow IPC stream, its buffers
// compressed with LZ4: it reads back as the very batches written, in any format.
func (f *File) newChunkEncoder(w io.Writer) (format.Writer, error) {
	return ipc.NewWriter(w, ipc.WithSchema(f.schema), ipc.WithAllocator(f.mem), ipc.WithLZ4()), nil
}

// publishFile publishes the single file: the rows its published file holds when base is
// set, then those of every chunk, in order. It assembles the whole in the publish
// directory, removes the chunks, then renames the whole into place, each step durable before
// the next. Run again from the same state, it completes what a crash interrupted.
func (f *File) publishFile() error {
	dir, name := f.root(), filepath.Base(f.opts.Path)
	ready := filepath.Join(dir, publishDir(name), name)
	stage, have, err := f.publishStage(f.pending)
	if err != nil {
		return fmt.Errorf("sink %s: publish: %w", f.opts.Path, err)
	}
	switch {
	case stage == published:
		f.pending, f.base = nil, true
		return nil
	case stage == chunks && len(f.pending) == 0 && f.base:
		return nil // nothing to add to what is published
	case stage == chunks:
		if err := f.verify(f.pending); err != nil {
			return err
		}
		if have < len(f.pending) {
			return fmt.Errorf("sink %s: publish: %d of %d chunks are missing and no assembled file is there",
				f.opts.Path, len(f.pending)-have, len(f.pending))
		}
		if err := f.assemble(ready); err != nil {
			return fmt.Errorf("sink %s: publish: %w", f.opts.Path, err)
		}
		if err := f.stepDone(dir); err != nil {
			return err
		}
	}
	for _, p := range f.pending {
		if err := f.opts.FS.Remove(f.abs(p.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sink %s: publish: %w", f.opts.Path, err)
		}
	}
	if err := f.stepDone(dir); err != nil {
		return err
	}
	if err := f.opts.FS.Rename(ready, f.opts.Path); err != nil {
		return fmt.Errorf("sink %s: publish: %w", f.opts.Path, err)
	}
	if err := f.stepDone(dir); err != nil {
		return err
	}
	f.pending, f.base = nil, true
	// What is left in the publish directory is an assembly a crash interrupted.
	if err := f.opts.FS.RemoveAll(filepath.Dir(ready)); err != nil {
		return fmt.Errorf("sink %s: publish: %w", f.opts.Path, err)
	}
	return nil
}

// publishing is how far the publishing of a single file got.
type publishing int

const (
	chunks    publishing = iota // the chunks wait to be assembled
	assembled                   // the whole waits in the publish directory
	published                   // the chunks are gone, the whole is published
)

// publishStage says how far the publishing of the single file from the chunks pending got,
// and how many of the chunks are there.
func (f *File) publishStage(pending []pendingFile) (publishing, int, error) {
	name := filepath.Base(f.opts.Path)
	ok, err := f.exists(filepath.Join(f.root(), publishDir(name), name))
	if err != nil || ok {
		return assembled, 0, err
	}
	have := 0
	for _, p := range pending {
		ok, err := f.exists(f.abs(p.Path))
		if err != nil {
			return chunks, 0, err
		}
		if ok {
			have++
		}
	}
	if have == 0 && len(pending) > 0 {
		ok, err := f.exists(f.opts.Path)
		if err != nil || ok {
			return published, 0, err
		}
	}
	return chunks, have, nil
}

// stepDone makes a step of publishFile durable: the renames and removals in dir.
func (f *File) stepDone(dir string) error {
	if err := f.opts.FS.SyncDir(dir); err != nil {
		return fmt.Errorf("sink %s: publish: sync directory %q: %w", f.opts.Path, dir, err)
	}
	return nil
}

// assemble writes the whole file at path, which appears atomically when it is complete.
func (f *File) assemble(path string) (err error) {
	w, err := format.Create(f.opts.FS, path, f.opts.Kind, f.schema, f.opts.Write)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.Abort()
		}
	}()
	if f.base {
		if err := f.copyPublished(w); err != nil {
			return err
		}
	}
	for _, p := range f.pending {
		if err := f.copyChunk(w, f.abs(p.Path)); err != nil {
			return err
		}
	}
	return w.Close()
}

// copyPublished writes the rows of the published file to w.
func (f *File) copyPublished(w format.Writer) error {
	r, err := format.Open(f.opts.Path, f.opts.Kind, f.schema, format.ReadOptions{Mem: f.mem})
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		rec, dead, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(dead) > 0 {
			if rec != nil {
				rec.Release()
			}
			return fmt.Errorf("read back %s: %s", dead[0].Where(), dead[0].Reason)
		}
		err = w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
}

// copyChunk writes the batches of a chunk to w.
func (f *File) copyChunk(w format.Writer, path string) error {
	in, err := f.opts.FS.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }() // a file only read: what matters is what Read said
	r, err := ipc.NewReader(bufio.NewReaderSize(in, 256<<10), ipc.WithSchema(f.schema), ipc.WithAllocator(f.mem))
	if err != nil {
		return fmt.Errorf("read chunk %s: %w", path, err)
	}
	defer r.Release()
	for r.Next() {
		if err := w.Write(r.RecordBatch()); err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("read chunk %s: %w", path, err)
	}
	return nil
}

// exists tells whether a file is at path.
func (f *File) exists(path string) (bool, error) {
	_, err := f.opts.FS.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
