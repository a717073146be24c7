//go:build unix

package proctime

import (
	"syscall"
	"time"
)

// CPU is the processor time this process has used so far, user and system, over all its
// threads; zero when the system does not say.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
