// Package proctime reads the processor time this process has used: the figure benchmarks
// on a shared machine compare, which other processes' work does not inflate as it does
// wall time.
package proctime
