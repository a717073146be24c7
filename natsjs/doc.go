// Package natsjs connects millrace to NATS JetStream: an embedded server (for tests and for
// HTTP ingest on one machine), a source that reads a stream's subjects as partitions, and a
// sink that publishes a checkpoint's rows exactly once.
//
// Positions are stream sequences and live in the checkpoint; the checkpoint, not the
// server, is the truth. After a checkpoint is durable the source acknowledges what it holds
// to a durable consumer, so the server sees the progress and a work-queue or interest stream
// can drop what was acknowledged. The sink names every message it publishes
// (Nats-Msg-Id = pipeline/sink/checkpoint/sequence), so republishing a checkpoint after a
// crash is deduplicated by the server within the stream's duplicate window.
package natsjs
