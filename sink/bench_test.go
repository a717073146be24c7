package sink

import (
	"os"
	"testing"

	"millrace/format"
)

// BenchmarkCommit measures the commit of a checkpoint that pre-committed one part file
// of 200,000 transactions as JSONL (about 47 MB): what publishing costs once the rows are
// written, including reading the file back to check its size and CRC-32C.
func BenchmarkCommit(b *testing.B) {
	if testing.Short() {
		b.Skip("writes 47 MB per commit")
	}
	recs := batchesOf(b, 200_000, 10_000)
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		s := start(b, FileOptions{Path: dir, Kind: format.JSONL, Dir: true}, 0, 1, nil)
		process(b, s, recs...)
		snapshot(b, s, 1)
		fi, err := os.Stat(s.abs(s.pending[0].Path))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(fi.Size())
		b.StartTimer()
		commit(b, s, 1)
	}
}
