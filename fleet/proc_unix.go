//go:build unix

package fleet

import "syscall"

// ownGroup puts a worker in a process group of its own, so that a Ctrl-C at the terminal
// reaches the fleet's owner alone, which stops the workers one way or the other.
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
