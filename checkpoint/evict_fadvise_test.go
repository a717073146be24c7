//go:build linux && (amd64 || arm64)

package checkpoint_test

import (
	"os"
	"syscall"
)

// evict asks the kernel to drop name's pages from the page cache
// (posix_fadvise POSIX_FADV_DONTNEED), so the next read comes from the disk.
func evict(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	const dontNeed = 4 // POSIX_FADV_DONTNEED
	if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, dontNeed, 0, 0); errno != 0 {
		return os.NewSyscallError("fadvise", errno)
	}
	return nil
}
