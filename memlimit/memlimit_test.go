package memlimit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAndFormat(t *testing.T) {
	for in, want := range map[string]int64{
		"4GiB": 4 << 30, "512 MiB": 512 << 20, "1.5G": 3 << 29, "800MB": 800e6, "1048576": 1 << 20,
		"2k": 2048, "3kB": 3000, "7 b": 7, " 1TiB ": 1 << 40,
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1GiB", "four", "1e30TiB", "NaN"} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), "size") {
			t.Errorf("Parse(%q): %v, want an error", bad, err)
		}
	}
	for n, want := range map[int64]string{900: "900 B", 6_549_825_126: "6.1 GiB", 4 << 30: "4.0 GiB", 1536: "1.5 KiB"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}

// writeFiles makes a filesystem root in a temporary directory holding files (path: text).
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, text := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDetect(t *testing.T) {
	meminfo := "MemTotal:       24683748 kB\nMemFree:        20300840 kB\n"
	cases := []struct {
		name  string
		files map[string]string
		want  Limit
	}{
		{"cgroup v2 of the process", map[string]string{
			"proc/self/cgroup":                    "0::/jobs/run-7\n",
			"sys/fs/cgroup/jobs/run-7/memory.max": "2147483648\n",
			"sys/fs/cgroup/memory.max":            "max\n",
			"proc/meminfo":                        meminfo,
		}, Limit{2 << 30, "/sys/fs/cgroup/jobs/run-7/memory.max"}},
		{"cgroup v2 at the root of a container", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"sys/fs/cgroup/memory.max": "1073741824\n",
			"proc/meminfo":             meminfo,
		}, Limit{1 << 30, "/sys/fs/cgroup/memory.max"}},
		{"cgroup v1", map[string]string{
			"proc/self/cgroup": "5:cpu,cpuacct:/\n4:memory:/process_api/abc\n0::/\n",
			"sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes": "536870912\n",
			"proc/meminfo": meminfo,
		}, Limit{512 << 20, "/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes"}},
		{"cgroup v1 without a limit", map[string]string{
			"proc/self/cgroup": "4:memory:/process_api/abc\n",
			"sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes": "9223372036854771712\n",
			"sys/fs/cgroup/memory/memory.limit_in_bytes":                 "9223372036854771712\n",
			"proc/meminfo": meminfo,
		}, Limit{24683748 << 10, "/proc/meminfo"}},
		{"no cgroup", map[string]string{"proc/meminfo": meminfo}, Limit{24683748 << 10, "/proc/meminfo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Detect(os.DirFS(writeFiles(t, c.files)))
			if err != nil || got != c.want {
				t.Fatalf("Detect = %+v, %v; want %+v", got, err, c.want)
			}
			if b := got.Budget(); b != int64(float64(c.want.Bytes)*DefaultShare) {
				t.Errorf("Budget = %d", b)
			}
		})
	}
	_, err := Detect(os.DirFS(writeFiles(t, map[string]string{"sys/fs/cgroup/memory.max": "lots\n"})))
	if err == nil || !strings.Contains(err.Error(), `/sys/fs/cgroup/memory.max: "lots" is not a number of bytes`) {
		t.Errorf("a damaged limit: %v", err)
	}
}
