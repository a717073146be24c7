//go:build !unix

package format_test

import "time"

// processCPU is not measured here: benchmarks report zero processor time.
func processCPU() time.Duration { return 0 }
