package bench

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"millrace/examples"
)

// TestNexmarkSideInputIsNexmarks checks that the side-input file q13 joins is Nexmark's:
// keys 0 to 9999, each with its own number written out as the value, and that the copy the
// benchmark reads holds the same bytes.
func TestNexmarkSideInputIsNexmarks(t *testing.T) {
	data, err := examples.Specs.ReadFile("nexmark/side_input.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 10_001 || lines[0] != "key,value" {
		t.Fatalf("%d lines, header %q; want 10001 lines under key,value", len(lines), lines[0])
	}
	for k, line := range lines[1:] {
		if n := strconv.Itoa(k); line != n+","+n {
			t.Fatalf("line %d: %q, want %s,%s", k+2, line, n, n)
		}
	}
	path, err := nexmarkSideInput()
	if err != nil {
		t.Fatal(err)
	}
	again, err := nexmarkSideInput()
	if err != nil || again != path {
		t.Fatalf("a second copy: %q, %v; want %q", again, err, path)
	}
	copied, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copied, data) {
		t.Errorf("%s holds %d bytes that differ from the embedded file's %d", path, len(copied), len(data))
	}
}
