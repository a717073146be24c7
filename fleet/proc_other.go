//go:build !unix

package fleet

import "syscall"

// ownGroup leaves a worker in this process's group where process groups are not known.
func ownGroup() *syscall.SysProcAttr { return nil }
