package sink

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// A file sink replaces only what millrace wrote. It claims its path with a marker, a hidden
// file written before its first file: DIR/.NAME.millrace for a single file DIR/NAME, and
// DIR/.millrace for a directory of part files. A path that holds something without the
// marker was not written by millrace, and the sink refuses it unless FileOptions.Overwrite
// says to go on; once it has gone on, the marker is there and later runs need not say so.

// markerText is what a marker file holds.
const markerText = "written by millrace: a sink of millrace may replace what is here\n"

// marker is where the marker of the sink of opts is.
func marker(opts FileOptions) string {
	if opts.Dir {
		return filepath.Join(opts.Path, ".millrace")
	}
	return filepath.Join(filepath.Dir(opts.Path), "."+filepath.Base(opts.Path)+".millrace")
}

// checkClaim refuses the path of opts when it holds what millrace did not write: a file
// where a single file goes, or a directory of part files holding files (other than hidden
// ones) without the marker. Overwrite lets it through.
func checkClaim(opts FileOptions) error {
	if opts.Store != nil {
		return checkStoreClaim(opts)
	}
	if opts.Dir {
		if info, err := opts.FS.Stat(opts.Path); err == nil && !info.IsDir() {
			return fmt.Errorf("%s is a file, where the sink writes a directory of part files: move it, or write to another path", opts.Path)
		}
	}
	if opts.Overwrite {
		return nil
	}
	switch _, err := opts.FS.Stat(marker(opts)); {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("sink %s: %w", opts.Path, err)
	}
	if !opts.Dir {
		info, err := opts.FS.Stat(opts.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist), err == nil && info.IsDir():
			return nil
		case err != nil:
			return fmt.Errorf("sink %s: %w", opts.Path, err)
		}
		return fmt.Errorf("%s already exists and millrace did not write it: set overwrite: true on the sink to replace it, or write to another path", opts.Path)
	}
	entries, err := opts.FS.ReadDir(opts.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("sink %s: %w", opts.Path, err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return refuseForeign(opts.Path, names)
}

// refuseForeign refuses the directory path of part files if the names of its entries
// include some that are not hidden, which millrace did not write there.
func refuseForeign(path string, names []string) error {
	var foreign []string
	for _, n := range names {
		if !strings.HasPrefix(n, ".") {
			foreign = append(foreign, n)
		}
	}
	if len(foreign) == 0 {
		return nil
	}
	shown := foreign[:min(len(foreign), 3)]
	more := ""
	if len(foreign) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(foreign)-len(shown))
	}
	return fmt.Errorf("directory %s already holds files millrace did not write (%s%s): set overwrite: true on the sink to write its part files among them, or give a new or empty directory",
		path, strings.Join(shown, ", "), more)
}

// claim writes the marker of the sink's path, creating the directory it goes in.
func (f *File) claim() error {
	if f.opts.Store != nil {
		if err := f.opts.Store.Put(context.Background(), storeMarker, []byte(markerText)); err != nil {
			return fmt.Errorf("sink %s: claim the path: %w", f.opts.Path, err)
		}
		return nil
	}
	m := marker(f.opts)
	if err := f.opts.FS.MkdirAll(filepath.Dir(m), 0o755); err != nil {
		return fmt.Errorf("sink %s: %w", f.opts.Path, err)
	}
	w, err := f.opts.FS.Create(m)
	if err != nil {
		return fmt.Errorf("sink %s: claim the path: %w", f.opts.Path, err)
	}
	_, err = w.Write([]byte(markerText))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sink %s: claim the path: %w", f.opts.Path, err)
	}
	return nil
}
