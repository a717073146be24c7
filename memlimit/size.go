package memlimit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// units are the size suffixes Parse knows, longest first so that "GiB" is not read as "B".
var units = []struct {
	suffix string
	bytes  float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// Parse reads a size in bytes: a number with an optional unit, binary (KiB, MiB, GiB, TiB,
// and K, M, G, T as their short forms) or decimal (kB, MB, GB, TB), in any case, with or
// without a space: "4GiB", "512 MiB", "1.5G", "800MB", "1048576".
func Parse(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.bytes
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("size %q: want a number of bytes with an optional unit, such as 4GiB, 512MiB or 800MB", s)
	}
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(b), nil
}

// Format prints n bytes with a binary unit and one decimal: "6.1 GiB", "512.0 MiB", "900 B".
func Format(n int64) string {
	const units = "KMGTPE"
	if n < 1<<10 && n > -1<<10 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/(1<<10), 0
	for (v >= 1<<10 || v <= -1<<10) && i < len(units)-1 {
		v /= 1 << 10
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}
