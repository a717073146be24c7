// Package job runs a pipeline to its end as a series of engine runs.
//
// A job holds its state directory for its whole life (a second run of the same pipeline
// on the same directory is refused), connects every engine run to the checkpoint store,
// decides from the newest checkpoint how a run resumes (Resume, a pure function of the
// manifest and the plan), starts a failed run again from its newest checkpoint with a
// growing backoff, and, when a Rescaler asks, stops a run at a checkpoint and goes on from
// it at another parallelism in the same process.
package job
