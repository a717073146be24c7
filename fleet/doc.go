// Package fleet runs the worker processes of a cluster on one machine: it starts workers
// of the same binary, each under its own id with its output prefixed by it, stops them
// gracefully (SIGTERM: a worker makes a last checkpoint, commits it and leaves its group
// before it exits), and decides from the cluster's scaling advice how many to run (Target),
// within bounds and a cool-down after each change.
//
// Target is a pure function of its inputs; Fleet does the processes' I/O.
package fleet
