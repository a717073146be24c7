// Package sink holds the outputs of a dataflow: operators that write the rows they receive
// to files or streams and emit nothing.
//
// # File sinks and checkpoints
//
// A File sink publishes every file atomically: it is written under a hidden name (one
// starting with a dot, which readers skip) and renamed into place whole. Without
// checkpoints a file is published when it rolls or when the input ends. With checkpoints
// (op.Context.Checkpointing) publishing is a two-phase commit: Snapshot pre-commits,
// making the files durable under hidden names that its state lists, and Commit renames
// them into place once the checkpoint is durable. Restore, after a crash, publishes what
// the checkpoint pre-committed and removes every other hidden file of the subtask, so the
// rows written after the checkpoint appear once, when they are written again.
//
// Part files. Subtask S writes its N-th part file of a partition directory D as
//
//	D/.part-SSS-NNNNN.EXT.writing    being written, or rolled since the last checkpoint
//	D/.part-SSS-NNNNN.EXT.ckpt-ID    pre-committed by checkpoint ID ("final" for the last)
//	D/part-SSS-NNNNN.EXT             published by Commit(ID) or by Restore
//
// (and D/.part-SSS-NNNNN.EXT.tmp-* while a run without checkpoints writes it). Snapshot
// closes every open part file, so the rows after a barrier go to new part files; N goes on
// from the state on Restore, so a resumed run names its files as an uninterrupted one
// with the same checkpoints does.
//
// Processes that write one directory at once, such as the workers of a cluster, each
// have subtasks numbered from 0: FileOptions.Prefix then names the run, and every name
// above becomes part-PREFIX-SSS-NNNNN.EXT (hidden or not). A subtask removes only hidden
// files of its own run and subtask, and of the runs' subtasks whose state it takes over
// (see adopt.go): never those of a run writing beside it.
//
// A single file, DIR/NAME, cannot be published piecewise: readers would see it grow. Its
// rows go to chunks, one per checkpoint that received rows, kept as Arrow IPC streams, so
// that they read back as the very batches that were written:
//
//	DIR/.NAME.SSS-NNNNN.writing      being written
//	DIR/.NAME.SSS-NNNNN.ckpt-ID      pre-committed by checkpoint ID
//	DIR/.NAME.publish/NAME           the whole file, assembled by the final commit
//	DIR/NAME                         published
//
// Only the commit of the final checkpoint (op.FinalCheckpoint, after Finish) publishes,
// in three steps that a crash may interrupt and Restore of the final state completes:
// it encodes the rows already published in DIR/NAME (after a run that stopped and was
// resumed) and every chunk, in order, into DIR/.NAME.publish/NAME, which appears
// atomically; it removes the chunks; it renames the assembled file over DIR/NAME. The
// same batches reach the same encoder as without checkpoints, so the file is the same,
// byte for byte (after a resumed run, the rows published before are decoded and encoded
// again: the same rows, though a Parquet file may cut its pages differently).
//
// The state a File sink's Snapshot returns is JSON:
//
//	{"version": 1, "checkpoint": ID, "prefix": "w1-0a1b2c3d", "subtask": S, "seq": N, "base": true,
//	 "pending": [{"checkpoint": ID, "path": "D/.part-000-00007.parquet.ckpt-3",
//	              "final": "D/part-000-00007.parquet",
//	              "sum": {"size": 48213, "crc32c": 2208339183}}, ...]}
//
// checkpoint is the id of the snapshot, seq the last file number used, base (single
// files only) says DIR/NAME already holds rows that come before the chunks, and pending
// lists, oldest first, the files pre-committed and not yet published, with paths relative
// to the sink's directory (DIR for a single file), slash-separated, and the size and
// CRC-32C of each. After a rescale (Rescale) the state may also hold "sweep": [I, ...],
// subtasks that no longer exist, whose pre-committed files this subtask publishes and
// whose hidden files it removes. A state another run wrote (another prefix) is taken over
// rather than resumed: its pre-committed files are published and its subtask's hidden files
// removed; Merge combines such states, listing the runs' subtasks it also stands for in
// "adopt": [{"prefix": P, "subtask": I}, ...].
//
// # Damaged pre-commits
//
// Commit and Restore read every file they are about to publish (part files) or assemble
// (chunks), and Restore every chunk it keeps, and check its size and CRC-32C against the
// state. If one does not match, or is missing, they publish and remove nothing and return
// an error matching ErrDamaged (a *DamagedError naming the file, the checkpoint, the
// expected and the actual size): a file truncated or changed on disk is never published.
// The check reads the files back: BenchmarkCommit, one 47 MB JSONL part file from the page
// cache, takes about 30 to 40 ms against 2 ms for the renames alone.
// File.Verify makes the same check of a state without changing anything, so that a
// resume can find a damaged checkpoint before any sink restores from it. The checkpoint is
// then damaged as a whole; the run resumes from an older intact one, whose Restore removes
// the damaged file with the other hidden files written after it, and whose replay writes
// its rows again. A pending file without "sum", written by a build that did not record
// it, is published unchecked.
package sink
