package kafka

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Exactly once, a transaction per batch (CommitBatch). A sink that waits for checkpoints
// makes a row visible a checkpoint interval after it arrives; this one commits every batch
// in a transaction of its own as it arrives, and still never publishes a row twice:
//
//   - Until the run has a durable checkpoint to resume from, it stages rows as CommitCheckpoint
//     does, so that a run killed before its first checkpoint publishes nothing it would publish
//     again when it starts afresh. Once the first checkpoint commits, or once a run has
//     restored one, every batch goes out at once.
//   - Every record carries the header millrace-sink naming the sink, the subtask, the run, the
//     attempt (a random name per process), the checkpoint the attempt restored from and the
//     last checkpoint the subtask had taken when it produced the record: its epoch.
//   - Each snapshot records where the output partitions end; a replay cannot have written
//     before that.
//   - A run resumed from checkpoint C replays its inputs from C's positions; what follows C is
//     computed again from C's state and the same inputs, so it is, as a multiset of rows, what
//     the killed attempt computed after C (event-time order per key, rules and models kept in
//     the checkpoint). Restore reads back, read_committed, what the sink committed after C: the
//     records of the attempt that took C with an epoch of C or later, and those of any attempt
//     that had restored C itself and died before its own next checkpoint. Their hashes, with
//     their counts, make the replay's multiset of rows already published; a replayed row whose
//     hash has a positive count is dropped and its count taken down.
//   - Until that multiset is empty at a checkpoint, the checkpoint keeps it as it was loaded (in
//     subtask 0's state) and what each subtask dropped before its barrier, so that a run
//     resumed from that checkpoint drops what is still owed.
//   - Before producing, an attempt records in the consumer group named by the sink's id how
//     many subtasks have ever produced for it; a restore takes the transactional ids of them
//     all, so that a transaction an attempt with more subtasks left behind is ended (aborted,
//     or completed when its commit had begun) before anything is read back.
//
// All subtasks of the sink run in one process (a cluster refuses CommitBatch); they share one
// multiset, which is loaded once every subtask has handed its restored state in.

// headerName is the header that names the sink, run, attempt and epoch of a record.
const headerName = "millrace-sink"

// rowHash identifies a record's key, value and headers but the sink's own.
type rowHash [16]byte

// hashRecord returns the hash of r's key, value and headers, leaving out headerName.
func hashRecord(r *kgo.Record) rowHash {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	put := func(b []byte, present bool) {
		if !present {
			_, _ = h.Write([]byte{0}) // hash.Hash.Write never fails
			return
		}
		_, _ = h.Write(n[:binary.PutUvarint(n[:], uint64(len(b))+1)])
		_, _ = h.Write(b)
	}
	put(r.Key, r.Key != nil)
	put(r.Value, true)
	for _, hd := range r.Headers {
		if hd.Key == headerName {
			continue
		}
		put([]byte(hd.Key), true)
		put(hd.Value, true)
	}
	var out rowHash
	copy(out[:], h.Sum(nil))
	return out
}

// label is what the header of a record says.
type label struct {
	sink    string // the sink's id
	subtask int
	run     string
	attempt string
	from    uint64 // the checkpoint the attempt restored from, 0 for none
	epoch   uint64 // the last checkpoint the subtask had taken, or from
}

func (l label) String() string {
	return l.sink + "/" + strconv.Itoa(l.subtask) + "/" + l.run + "/" + l.attempt + "/" +
		strconv.FormatUint(l.from, 10) + "/" + strconv.FormatUint(l.epoch, 10)
}

// parseLabel reads a header value that label.String wrote; ok is false for anything else.
func parseLabel(v string) (l label, ok bool) {
	parts := strings.Split(v, "/")
	if len(parts) < 6 {
		return l, false
	}
	k := len(parts) - 5
	l.sink, l.run, l.attempt = strings.Join(parts[:k], "/"), parts[k+1], parts[k+2]
	var err1, err2, err3 error
	l.subtask, err1 = strconv.Atoi(parts[k])
	l.from, err2 = strconv.ParseUint(parts[k+3], 10, 64)
	l.epoch, err3 = strconv.ParseUint(parts[k+4], 10, 64)
	return l, err1 == nil && err2 == nil && err3 == nil
}

// batchState is a subtask's part of committing per batch.
type batchState struct {
	on    bool   // the sink commits per batch and the run takes checkpoints
	live  bool   // batches go out as they arrive
	from  uint64 // the checkpoint this attempt restored from, 0 for none
	epoch uint64 // the last checkpoint this subtask took, or from
	round *round // the replay's rows already published, after a restore
	// drops counts the rows of round this subtask dropped, by hash.
	drops map[rowHash]int32
}

// label returns the header value of the records the subtask produces now.
func (s *Sink) label() []byte {
	return []byte(label{sink: s.opts.ID, subtask: s.sub, run: s.state.run, attempt: s.shared.attempt,
		from: s.batch.from, epoch: s.batch.epoch}.String())
}

// labelled adds the sink's header to recs.
func (s *Sink) labelled(recs []*kgo.Record) []*kgo.Record {
	v := s.label()
	for _, r := range recs {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: headerName, Value: v})
	}
	return recs
}

// unpublished returns the records of recs the restored round does not hold as published
// already, taking down the count of each one it drops.
func (s *Sink) unpublished(recs []*kgo.Record) []*kgo.Record {
	rd := s.batch.round
	if rd == nil || !rd.owing() {
		return recs
	}
	kept := recs[:0]
	for _, r := range recs {
		h := hashRecord(r)
		if rd.take(h) {
			if s.batch.drops == nil {
				s.batch.drops = map[rowHash]int32{}
			}
			s.batch.drops[h]++
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// produceNow produces recs in one transaction of the subtask's transactional id and
// commits it. Once batches go out as they arrive, only the committer calls it.
func (s *Sink) produceNow(recs []*kgo.Record) (err error) {
	if len(recs) == 0 {
		return nil
	}
	ctx, cancel := s.call()
	defer cancel()
	where := fmt.Sprintf("kafka sink %s: transaction %s of %d records", s.opts.Topic, s.txnID(s.sub), len(recs))
	if err := s.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("%s: begin: %w", where, err)
	}
	defer func() {
		if err != nil {
			_ = s.cl.EndTransaction(ctx, kgo.TryAbort) // a transaction that fails never commits
		}
	}()
	var mu sync.Mutex
	var failed error
	for _, r := range recs {
		r.Topic = s.opts.Topic
		s.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
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
	if err := s.cl.Flush(ctx); err != nil {
		return fmt.Errorf("%s: flush: %w", where, err)
	}
	if failed != nil {
		return fmt.Errorf("%s: %w", where, failed)
	}
	if err := s.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("%s: commit: %w", where, err)
	}
	return nil
}

// goLive makes batches go out as they arrive, beginning with the rows received since the
// last snapshot.
func (s *Sink) goLive() error {
	s.batch.live = true
	recs := s.unpublished(s.buf)
	s.buf = nil
	return s.commits.add(recs)
}

// snapshotBatch adds to the state of checkpoint id where the topic's partitions end now
// and, while a restored round is owed rows, what it was and what this subtask dropped of it.
func (s *Sink) snapshotBatch(id uint64) error {
	// The rows before the barrier are committed before the checkpoint can be durable: a
	// replay from it would not make them again.
	if err := s.commits.wait(); err != nil {
		return err
	}
	lv := s.liveState(id)
	ends, err := s.ends()
	if err != nil {
		return fmt.Errorf("kafka sink %s: checkpoint %s: %w", s.opts.Topic, checkpointLabel(id), err)
	}
	lv.ends = ends
	return nil
}

// captureBatch takes checkpoint id's state, once batches go out as they arrive, without
// holding the sink: the committer reads where the partitions end once the rows before the
// barrier are committed, and commits the rows after it only then, while the sink goes on
// handing them over.
func (s *Sink) captureBatch(id uint64) func() ([]byte, error) {
	lv := s.liveState(id)
	lv.drops = maps.Clone(lv.drops) // the sink goes on counting its drops
	st := s.state
	ended := make(chan error, 1)
	s.commits.setMark(func(err error) {
		if err == nil {
			lv.ends, err = s.ends()
		}
		ended <- err
	})
	return func() ([]byte, error) {
		if err := <-ended; err != nil {
			return nil, fmt.Errorf("kafka sink %s: checkpoint %s: %w", s.opts.Topic, checkpointLabel(id), err)
		}
		return st.encode(), nil
	}
}

// liveState makes the state of checkpoint id a subtask committing per batch adds, but where
// the partitions end, and starts the checkpoint's epoch.
func (s *Sink) liveState(id uint64) *liveState {
	lv := &liveState{checkpoint: id, attempt: s.shared.attempt}
	if rd := s.batch.round; rd != nil && rd.keep(id) {
		lv.drops = s.batch.drops
		if s.sub == 0 {
			lv.base = rd.base
		}
	} else {
		s.batch.drops = nil
	}
	s.state.live = lv
	s.batch.epoch = id
	return lv
}
