package job

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockFile is the file in a state directory that a running job holds locked; it says who
// holds it.
const lockFile = "LOCK"

// ErrLocked is returned when another process holds a state directory.
var ErrLocked = errors.New("job: state directory in use")

// Lock is an exclusive hold on a state directory: while one job holds it, no other
// process can, so two runs of one pipeline never write the same checkpoints and sinks. The
// lock is an flock(2) on dir/LOCK, released by Close or by the process's death, whatever
// way it dies; the file stays, holding the last holder's description.
type Lock struct {
	f *os.File
}

// LockDir takes the lock of dir, creating dir if needed. holder describes this process to
// whoever is refused (the command it runs); the process id, host and time are added. When
// another process holds it, the error wraps ErrLocked and names that holder.
func LockDir(dir, holder string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock state directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		who, _ := os.ReadFile(path)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is held by %s; stop that run first, or give this one another --checkpoint",
				ErrLocked, dir, describeHolder(who))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	who := fmt.Sprintf("pid %d on %s since %s: %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339), holder)
	if err := writeHolder(f, who); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// writeHolder replaces the lock file's content with who.
func writeHolder(f *os.File, who string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(who), 0)
	return err
}

// describeHolder is what a lock file says of its holder, for an error line.
func describeHolder(content []byte) string {
	who := strings.TrimSpace(string(content))
	if who == "" {
		return "another process"
	}
	return who
}

// Close releases the lock.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
