package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// DefaultShare is the share of the memory limit that a run's budget takes unless told
// otherwise: the rest is for the Go runtime's headroom, input buffers and the process itself.
const DefaultShare = 0.7

// Limit is the memory the process may use, and where that figure came from.
type Limit struct {
	Bytes int64
	// From names the file the figure was read from, such as
	// "/sys/fs/cgroup/memory.max" or "/proc/meminfo".
	From string
}

// Budget is the default memory budget: DefaultShare of the limit.
func (l Limit) Budget() int64 { return int64(float64(l.Bytes) * DefaultShare) }

// unlimited is the least value a cgroup v1 limit takes when no limit is set (the largest
// page-aligned int64, depending on the page size).
const unlimited = 1 << 62

// Detect reads the memory limit of the process from root, a view of the filesystem from "/"
// (os.DirFS("/")): the limit of its cgroup v2 (memory.max of the cgroup that
// /proc/self/cgroup names, or of the root) or v1 memory cgroup (memory.limit_in_bytes),
// when one is set; otherwise the machine's memory (MemTotal in /proc/meminfo).
func Detect(root fs.FS) (Limit, error) {
	for _, p := range cgroupFiles(root) {
		b, err := fs.ReadFile(root, p)
		if err != nil {
			continue // not this hierarchy, or not mounted here
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Limit{}, fmt.Errorf("read the memory limit in /%s: %q is not a number of bytes", p, v)
		}
		if n > 0 && n < unlimited {
			return Limit{Bytes: n, From: "/" + p}, nil
		}
	}
	b, err := fs.ReadFile(root, "proc/meminfo")
	if err != nil {
		return Limit{}, fmt.Errorf("read the machine's memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb <= 0 {
				return Limit{}, fmt.Errorf("read the machine's memory in /proc/meminfo: MemTotal %q is not a number of kB", f[1])
			}
			return Limit{Bytes: kb << 10, From: "/proc/meminfo"}, nil
		}
	}
	return Limit{}, errors.New("read the machine's memory: /proc/meminfo has no MemTotal")
}

// cgroupFiles lists the files that may hold the process's memory limit, most specific
// first: those of the cgroups /proc/self/cgroup names, then those at the roots of the
// hierarchies, which is where a container sees its own cgroup.
func cgroupFiles(root fs.FS) []string {
	var files []string
	if b, err := fs.ReadFile(root, "proc/self/cgroup"); err == nil {
		for line := range strings.Lines(string(b)) {
			// hierarchy-ID:controller-list:cgroup-path
			parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
			if len(parts) != 3 || parts[2] == "/" {
				continue
			}
			dir := strings.TrimPrefix(path.Clean(parts[2]), "/")
			switch {
			case parts[0] == "0" && parts[1] == "":
				files = append(files, path.Join("sys/fs/cgroup", dir, "memory.max"))
			case hasController(parts[1], "memory"):
				files = append(files, path.Join("sys/fs/cgroup/memory", dir, "memory.limit_in_bytes"))
			}
		}
	}
	return append(files, "sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes")
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
