package sink

import (
	"fmt"
	"strconv"
	"strings"

	"millrace/format"
	"millrace/op"
)

// The names of a file sink's files; the package documentation draws the layout.

// partName is the published name of part file seq of subtask sub.
func partName(sub, seq int, kind format.Kind) string {
	return fmt.Sprintf("part-%03d-%05d.%s", sub, seq, kind)
}

// partStem is the hidden name a part file is written under, before its state suffix.
func partStem(final string) string { return "." + final }

// chunkStem is the hidden name of chunk seq of the single file name, before its state suffix.
func chunkStem(name string, sub, seq int) string {
	return fmt.Sprintf(".%s.%03d-%05d", name, sub, seq)
}

// writingName is a file written since the last checkpoint.
func writingName(stem string) string { return stem + ".writing" }

// pendingName is a file pre-committed by checkpoint id.
func pendingName(stem string, id uint64) string { return stem + ".ckpt-" + checkpointLabel(id) }

// checkpointLabel names a checkpoint in file names: its id, or "final".
func checkpointLabel(id uint64) string {
	if id == op.FinalCheckpoint {
		return "final"
	}
	return strconv.FormatUint(id, 10)
}

// publishDir is the hidden directory in which the single file name is assembled.
func publishDir(name string) string { return "." + name + ".publish" }

// ownsPart tells whether a file named entry is a hidden file of subtask sub's part files:
// being written, pre-committed, or a temporary file of a run without checkpoints.
func ownsPart(entry string, sub int) bool {
	return strings.HasPrefix(entry, fmt.Sprintf(".part-%03d-", sub))
}

// ownsSingle tells whether an entry of the directory of the single file name is one of its
// hidden files: a chunk, the publish directory, or a temporary file of a run without
// checkpoints. It does not claim the files of a sink whose name extends name, such as
// name.gz.
func ownsSingle(entry, name string) bool {
	rest, ok := strings.CutPrefix(entry, "."+name+".")
	if !ok {
		return false
	}
	if rest == "publish" || strings.HasPrefix(rest, "tmp-") {
		return true
	}
	seq, state, ok := strings.Cut(rest, ".")
	if !ok || (state != "writing" && !strings.HasPrefix(state, "ckpt-")) {
		return false
	}
	sub, n, ok := strings.Cut(seq, "-")
	return ok && digits(sub) && digits(n)
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
