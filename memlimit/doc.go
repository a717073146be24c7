// Package memlimit says how much memory a run may use: it reads the limit of the process's
// memory cgroup (v2 memory.max, v1 memory.limit_in_bytes) or, without one, the machine's
// memory, and parses and prints sizes such as "4GiB".
package memlimit
