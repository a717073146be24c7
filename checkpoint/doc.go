// Package checkpoint stores the checkpoints of a pipeline: for each one, the blobs of
// state the steps of the dataflow took (a source's positions, an operator's state, a
// sink's pre-committed files) and a manifest of which blob holds the state of which
// subtask of which step. It is the storage half of the engine's aligned-barrier
// checkpoints; the engine decides when to take one and what goes in it.
//
// A Store keeps one pipeline's checkpoints in one directory:
//
//	<dir>/
//	├── chk-00000000000000000041/        complete: loaded by LatestIntact
//	│   ├── MANIFEST
//	│   ├── velocity.0
//	│   └── velocity.1
//	├── chk-00000000000000000042.tmp/    being written, or left by a crash: never loaded
//	│   ├── velocity.0
//	│   └── MANIFEST.tmp
//	└── FINISHED                         present when the last run finished
//
// Writing a checkpoint:
//
//	p, err := store.Begin(42)
//	if err != nil { ... }
//	defer func() { _ = p.Abort() }() // does nothing once Commit has run
//	err = p.Write("velocity.0", state0)
//	...
//	m, err := p.Commit(checkpoint.Manifest{Taken: t, Pipeline: "card-velocity", ...})
//	// Only now may sinks publish what checkpoint 42 made ready.
//	err = store.Retain(3)
//
// Recovering:
//
//	m, skipped, err := store.LatestIntact() // errors.Is(err, checkpoint.ErrNone): start afresh
//	for _, sk := range skipped { ... say that sk.ID is damaged (sk.Reason); discard it }
//	state0, err := store.Read(m, "velocity.0")
//
// A checkpoint is complete once the rename of chk-<id>.tmp to chk-<id> is durable; every
// blob and the manifest are durable before it. A failure at any step leaves the previous
// checkpoints as they were. The format and the protocol, step by step, are specified in
// docs/format/checkpoint.md.
//
// The Store goes through a vfs.FS: vfs.OSFS for the disk, package vfs/errorfs to inject
// failures.
//
// Locks: a BlobWriter's lock is taken before its Pending's; the Store's lock is never
// held together with either.
package checkpoint
