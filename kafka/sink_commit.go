package kafka

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"millrace/op"
)

// Exactly once over checkpoints. Subtask S of a sink with id ID produces with the
// transactional id ID.S. Each transaction holds whole batches (the rows between two
// snapshots) and commits, with them, the offset of partition 0 of the topic in the consumer
// group ID.S: the number of the last batch, with the run's name as metadata. That marker is
// the truth about what is published: after a crash, Restore takes the transactional id
// (aborting a transaction left open), reads the marker and produces again, in one
// transaction, the batches of the restored state that come after it.

// txnID is the transactional id, and the name of the marker's group, of subtask sub.
func (s *Sink) txnID(sub int) string { return s.opts.ID + "." + strconv.Itoa(sub) }

// transactional returns a client producing with the transactional id of subtask sub.
func (s *Sink) transactional(sub int) (*kgo.Client, error) {
	// The marker is committed with TxnOffsetCommit v4 or older, which names the topic
	// rather than its id; capping it turns off the KIP-890 part 2 paths (which would skip
	// AddOffsetsToTxn), so every broker takes the explicit AddOffsetsToTxn below.
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(int16(kmsg.TxnOffsetCommit), 4)
	opts, err := s.opts.Conn.Opts()
	if err != nil {
		return nil, fmt.Errorf("kafka sink %s: %w", s.opts.Topic, err)
	}
	opts = append(opts, kgo.DefaultProduceTopic(s.opts.Topic), kgo.TransactionalID(s.txnID(sub)), kgo.MaxVersions(versions))
	if s.opts.Commit == CommitBatch {
		// Transactions follow each other at once: a broker still writing the markers of
		// the last one answers CONCURRENT_TRANSACTIONS, and the default 20 ms before
		// trying again would be added to an alert's latency.
		opts = append(opts, kgo.ConcurrentTransactionsBackoff(time.Millisecond))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka sink %s: %w", s.opts.Topic, err)
	}
	return cl, nil
}

// fence takes the transactional id of subtask sub for cl: a producer that held it is
// fenced, and the transaction it left open is aborted or, if its commit had begun,
// completed.
func (s *Sink) fence(cl *kgo.Client, sub int) error {
	ctx, cancel := s.call()
	defer cancel()
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return fmt.Errorf("kafka sink %s: take transactional id %s: %w", s.opts.Topic, s.txnID(sub), err)
	}
	return nil
}

// marker reads the last batch that subtask sub committed, and the run that committed it.
func (s *Sink) marker(cl *kgo.Client, sub int) (seq uint64, run string, err error) {
	ctx, cancel := s.call()
	defer cancel()
	group := s.txnID(sub)
	offsets, err := kadm.NewClient(cl).FetchOffsets(kadm.RequireStable(ctx), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return 0, "", nil // no transaction of this id ever committed
	}
	if err != nil {
		return 0, "", fmt.Errorf("kafka sink %s: read the commit marker of group %s: %w", s.opts.Topic, group, err)
	}
	o, ok := offsets.Lookup(s.opts.Topic, 0)
	if !ok {
		return 0, "", nil
	}
	if o.Err != nil {
		return 0, "", fmt.Errorf("kafka sink %s: read the commit marker of group %s: %w", s.opts.Topic, group, o.Err)
	}
	if o.At < 0 {
		return 0, "", nil
	}
	return uint64(o.At), o.Metadata, nil
}

// transact produces batches in one transaction of subtask sub's transactional id that also
// commits the marker naming the last of them as run's.
func (s *Sink) transact(cl *kgo.Client, sub int, run string, batches []batch) (err error) {
	ctx, cancel := s.call()
	defer cancel()
	last := batches[len(batches)-1]
	where := fmt.Sprintf("kafka sink %s: transaction %s of batches %d..%d (checkpoint %s)",
		s.opts.Topic, s.txnID(sub), batches[0].seq, last.seq, checkpointLabel(last.checkpoint))
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("%s: begin: %w", where, err)
	}
	defer func() {
		if err != nil {
			// Whatever the abort says, the transaction never commits: the next producer
			// with this id aborts it if this one could not.
			_ = cl.EndTransaction(ctx, kgo.TryAbort)
		}
	}()
	var mu sync.Mutex
	var failed error
	for _, b := range batches {
		for _, r := range b.records {
			r.Topic = s.opts.Topic
			cl.Produce(ctx, r, func(r *kgo.Record, err error) {
				if err == nil {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if failed == nil {
					failed = fmt.Errorf("produce to %s partition %d: %w", r.Topic, r.Partition, err)
				}
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("%s: flush: %w", where, err)
	}
	if failed != nil {
		return fmt.Errorf("%s: %w", where, failed)
	}
	if err := s.commitMarker(cl, sub, last.seq, run); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("%s: commit: %w", where, err)
	}
	return nil
}

// commitMarker adds to the open transaction the offset commit that says batch seq of run is
// the last one published.
func (s *Sink) commitMarker(cl *kgo.Client, sub int, seq uint64, run string) error {
	ctx, cancel := s.call()
	defer cancel()
	id, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("commit marker: %w", err)
	}
	group := s.txnID(sub)
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = group, id, epoch, group
	addResp, err := add.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(addResp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("commit marker: add group %s to the transaction: %w", group, err)
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = group, group, id, epoch
	req.Generation = -1
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = s.opts.Topic
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = 0, int64(seq), -1, &run
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("commit marker in group %s: %w", group, err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return fmt.Errorf("commit marker in group %s: %w", group, err)
			}
		}
	}
	return nil
}

// ErrAhead says the brokers hold a commit of a checkpoint newer than the one a run resumes
// from: resuming would publish its rows twice.
var ErrAhead = errors.New("kafka: the topic holds a newer checkpoint's commit")

// Restore resumes from a checkpoint's state: for its own and every adopted subtask's part it
// takes the transactional id, reads the marker and produces again, in one transaction, the
// batches the checkpoint took whose transaction never committed. A marker past the state's
// last batch means a newer checkpoint was committed: Restore then returns an error matching
// ErrAhead rather than publish rows twice.
func (s *Sink) Restore(state []byte) error {
	if !s.ckpt {
		return nil
	}
	st, err := decodeSinkState(state)
	if err != nil {
		return fmt.Errorf("kafka sink %s: restore subtask %d: %w", s.opts.Topic, s.sub, err)
	}
	if st.subtask != s.sub {
		return fmt.Errorf("kafka sink %s: restore: the state of subtask %d given to subtask %d", s.opts.Topic, st.subtask, s.sub)
	}
	for _, a := range st.adopted {
		if err := s.adopt(a); err != nil {
			return err
		}
	}
	if st.run == "" {
		st.run = s.state.run // a subtask that only adopted others' batches
	}
	if err := s.republish(s.cl, st.subState); err != nil {
		return err
	}
	s.state = sinkState{subState: subState{subtask: s.sub, run: st.run, seq: st.seq}}
	if s.batch.on {
		return s.restoreBatch(st, s.par)
	}
	return nil
}

// adopt publishes what a subtask of an earlier parallelism left uncommitted, with its own
// transactional id, which it takes from whatever held it.
func (s *Sink) adopt(a subState) error {
	cl, err := s.transactional(a.subtask)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := s.fence(cl, a.subtask); err != nil {
		return err
	}
	return s.republish(cl, a)
}

// republish produces the batches of st whose transaction never committed.
func (s *Sink) republish(cl *kgo.Client, st subState) error {
	seq, run, err := s.marker(cl, st.subtask)
	if err != nil {
		return err
	}
	if run != st.run {
		seq = 0 // the marker is an earlier run's: nothing of this one is published
	}
	if seq > st.seq {
		return fmt.Errorf("kafka sink %s: restore subtask %d: batch %d is committed, the checkpoint knows of %d only: %w",
			s.opts.Topic, st.subtask, seq, st.seq, ErrAhead)
	}
	var due []batch
	for _, b := range st.pending {
		if b.seq > seq {
			due = append(due, b)
		}
	}
	if len(due) == 0 {
		return nil
	}
	return s.transact(cl, st.subtask, st.run, due)
}

// Rescale spreads the states of an exactly-once sink's subtasks over n: old subtask i keeps
// its state when i < n, and is adopted by new subtask i mod n otherwise, which publishes what
// it left uncommitted under its transactional id.
func (s *Sink) Rescale(states [][]byte, n int, _ op.KeyOwner) ([][]byte, error) {
	out := make([]*sinkState, n)
	for i, b := range states {
		if b == nil {
			continue
		}
		st, err := decodeSinkState(b)
		if err != nil {
			return nil, fmt.Errorf("kafka sink %s: rescale: subtask %d: %w", s.opts.Topic, i, err)
		}
		to := out[i%n]
		if to == nil {
			to = &sinkState{subState: subState{subtask: i % n}}
			out[i%n] = to
		}
		if i < n {
			to.subState = st.subState
		} else {
			to.adopted = append(to.adopted, st.subState)
		}
		to.adopted = append(to.adopted, st.adopted...)
	}
	if err := s.rescaleLive(states, out); err != nil {
		return nil, err
	}
	encoded := make([][]byte, n)
	for i, st := range out {
		if st != nil {
			encoded[i] = st.encode()
		}
	}
	return encoded, nil
}

// checkpointLabel names a checkpoint id in messages.
func checkpointLabel(id uint64) string {
	if id == op.FinalCheckpoint {
		return "final"
	}
	return strconv.FormatUint(id, 10)
}
