package sink

import (
	"fmt"
	"strconv"
	"strings"

	"millrace/format"
	"millrace/op"
)

// The names of a file sink's files; the package documentation draws the layout.

// partName is the published name of part file seq of subtask sub of the run that names
// its files with prefix (none in one process).
func partName(prefix string, sub, seq int, kind format.Kind) string {
	return fmt.Sprintf("part-%s%03d-%05d.%s", prefixPart(prefix), sub, seq, kind)
}

// prefixPart is what a prefix adds to a part file's name: the prefix and a dash, or nothing.
func prefixPart(prefix string) string {
	if prefix == "" {
		return ""
	}
	return prefix + "-"
}

// validPrefix tells whether p may name a run in part file names: letters, digits, dashes
// and underscores only. Without a dot in it, the name of a part file says unambiguously
// which prefix, subtask and number it has (see ownsPart).
func validPrefix(p string) bool {
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
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

// owner is a subtask of a run, whose part files are named with the run's prefix and the
// subtask's number.
type owner struct {
	Prefix  string `json:"prefix,omitempty"`
	Subtask int    `json:"subtask"`
}

// ownsPart tells whether a file named entry is a hidden file of o's part files: being
// written, pre-committed, or a temporary file of a run without checkpoints. The file
// number must follow the subtask's, up to the extension, so that no prefix claims the files
// of a longer one (prefixes hold no dot).
func ownsPart(entry string, o owner) bool {
	rest, ok := strings.CutPrefix(entry, fmt.Sprintf(".part-%s%03d-", prefixPart(o.Prefix), o.Subtask))
	if !ok {
		return false
	}
	seq, _, ok := strings.Cut(rest, ".")
	return ok && digits(seq)
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
