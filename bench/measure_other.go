//go:build !linux

package bench

import (
	"context"
	"errors"
)

// measure needs Linux: it reads a process's peak memory from the OS as Linux accounts it
// (see measure_linux.go).
func measure(context.Context, string, []string, []string) (Side, []byte, error) {
	return Side{}, nil, errors.New("bench history measures processes on Linux only")
}
