package bench

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"millrace/examples"
)

// nexmarkSideInput returns the path of a copy of examples/nexmark/side_input.csv, the file
// q13 joins, so that the benchmark runs from any directory. The copy lives in the system's
// temporary directory under a name made of its content's hash: it is written once, through
// a temporary file renamed into place, and found again by later runs.
func nexmarkSideInput() (string, error) {
	data, err := examples.Specs.ReadFile("nexmark/side_input.csv")
	if err != nil {
		return "", fmt.Errorf("read the embedded side input: %w", err)
	}
	sum := sha256.Sum256(data)
	dir := filepath.Join(os.TempDir(), "millrace-nexmark")
	path := filepath.Join(dir, "side_input-"+hex.EncodeToString(sum[:8])+".csv")
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, data) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write the side input: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "side_input-*.tmp")
	if err != nil {
		return "", fmt.Errorf("write the side input: %w", err)
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name()) // a failed copy leaves nothing behind; the error says why
		return "", fmt.Errorf("write the side input %s: %w", path, werr)
	}
	return path, nil
}
