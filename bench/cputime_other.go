//go:build !unix

package bench

import "time"

// cpuTime is zero where the system's resource usage is not read: Result.CPU stays unknown.
func cpuTime() time.Duration { return 0 }
