package checkpoint

import (
	"fmt"
	"strconv"
	"strings"
)

// The names a Store gives things in its directory. See docs/format/checkpoint.md.
const (
	dirPrefix  = "chk-"
	tmpSuffix  = ".tmp"
	idDigits   = 20 // the digits of the largest uint64, so names sort as ids do
	maxBlobLen = 200

	// ManifestName is the name of the manifest in a checkpoint's directory.
	ManifestName = "MANIFEST"
	manifestTmp  = ManifestName + tmpSuffix

	// FinishedName is the name of the marker that says the store holds nothing to
	// resume.
	FinishedName = "FINISHED"
)

// dirName is the name of checkpoint id's directory once complete.
func dirName(id uint64) string { return fmt.Sprintf("%s%0*d", dirPrefix, idDigits, id) }

// tmpName is the name of checkpoint id's directory while it is written.
func tmpName(id uint64) string { return dirName(id) + tmpSuffix }

// parseDirName returns the id of a checkpoint directory's name and whether the name is
// that of one in progress; ok is false for any other name.
func parseDirName(name string) (id uint64, tmp, ok bool) {
	rest, found := strings.CutPrefix(name, dirPrefix)
	if !found {
		return 0, false, false
	}
	rest, tmp = strings.CutSuffix(rest, tmpSuffix)
	if len(rest) != idDigits {
		return 0, false, false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0, false, false
		}
	}
	id, err := strconv.ParseUint(rest, 10, 64)
	if err != nil {
		return 0, false, false
	}
	return id, tmp, true
}

// checkBlobName says why name cannot name a blob: blobs are files of one flat directory,
// so a name is 1 to 200 letters, digits, '.', '_' or '-', does not start with '.' and
// does not start with MANIFEST.
func checkBlobName(name string) error {
	if name == "" || len(name) > maxBlobLen {
		return fmt.Errorf("blob name %.60q: want 1 to %d characters", name, maxBlobLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("blob name %q: want letters, digits, '.', '_' or '-', not %q", name, c)
		}
	}
	if name[0] == '.' {
		return fmt.Errorf("blob name %q: must not start with '.'", name)
	}
	if strings.HasPrefix(name, ManifestName) {
		return fmt.Errorf("blob name %q: names starting with %s are the store's own", name, ManifestName)
	}
	return nil
}
