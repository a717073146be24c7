//go:build !unix

package proctime

import "time"

// CPU is zero where the system's resource usage is not read.
func CPU() time.Duration { return 0 }
