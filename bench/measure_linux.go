package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER: orphans of this process's
// descendants become its children, so that it can wait for them.
const prSetChildSubreaper = 36

// measure runs a command to its end and returns its wall time, its processor time and its
// peak memory (the OS's figures for its process) and what it printed on stdout. A failure
// carries the end of what it printed on stderr.
//
// Linux carries the memory high-water mark of a process that execs over into the new
// program, and a child of this process starts as a copy of it (or shares its memory until
// it execs), so a child's figure would never fall below this process's own peak, which
// generating the inputs raised. The command therefore runs as a grandchild, started by
// /bin/sh, whose few pages are all it inherits; sh exits at once, this process, made a
// subreaper, adopts the grandchild, and its wait returns the grandchild's own figures.
// measure runs one command at a time.
func measure(ctx context.Context, name string, args, env []string) (Side, []byte, error) {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return Side{}, nil, fmt.Errorf("become a subreaper to measure %s: %w", name, errno)
	}
	defer func() {
		// Undoing the call above cannot fail where the call itself did not.
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 0, 0)
	}()
	stdout, err := os.CreateTemp("", "millrace-measure-")
	if err != nil {
		return Side{}, nil, err
	}
	defer os.Remove(stdout.Name())
	defer stdout.Close()
	stderr, err := os.CreateTemp("", "millrace-measure-")
	if err != nil {
		return Side{}, nil, err
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	pidR, pidW, err := os.Pipe()
	if err != nil {
		return Side{}, nil, err
	}
	defer pidR.Close()
	// sh starts the command in the background, without the pipe, and writes its pid to it.
	sh := exec.Command("/bin/sh", append([]string{"-c", `"$0" "$@" 3>&- & echo $! >&3`, name}, args...)...)
	sh.Env = append(os.Environ(), env...)
	sh.Stdout, sh.Stderr, sh.ExtraFiles = stdout, stderr, []*os.File{pidW}
	start := time.Now()
	err = sh.Start()
	pidW.Close()
	if err != nil {
		return Side{}, nil, fmt.Errorf("start %s: %w", name, err)
	}
	line, readErr := io.ReadAll(pidR)
	if err := sh.Wait(); err != nil {
		return Side{}, nil, fmt.Errorf("start %s through /bin/sh: %w", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if readErr != nil || err != nil {
		return Side{}, nil, fmt.Errorf("start %s: /bin/sh gave no pid (%q)", name, line)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(pid, syscall.SIGKILL) // the wait below then returns
		case <-done:
		}
	}()
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	elapsed := time.Since(start)
	if err != nil {
		return Side{}, nil, fmt.Errorf("wait for %s: %w", name, err)
	}
	out, err := os.ReadFile(stdout.Name())
	if err != nil {
		return Side{}, nil, err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		msg, _ := os.ReadFile(stderr.Name())
		return Side{}, nil, fmt.Errorf("%s %s: %s\n%s", name, strings.Join(args, " "), describe(ws), lastLines(string(msg), 20))
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return Side{Elapsed: elapsed, Seconds: elapsed.Seconds(), CPUSeconds: cpu.Seconds(), PeakRSS: ru.Maxrss * 1024}, out, nil // Linux counts KiB
}

// describe says how a process ended.
func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}
