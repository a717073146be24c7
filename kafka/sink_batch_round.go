package kafka

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// batchShared is what the subtasks of one CommitBatch sink share in a process: the name of
// the attempt, whether it has recorded its number of subtasks, and the rounds of restores.
type batchShared struct {
	attempt string
	run     string // the run of a fresh start, the same in every subtask

	mu         sync.Mutex
	registered int               // the number of subtasks recorded for this attempt
	rounds     map[uint64]*round // by the checkpoint restored
}

func newBatchShared() *batchShared {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return &batchShared{attempt: hex.EncodeToString(b), run: newRun(), rounds: map[uint64]*round{}}
}

// round is one restore of the sink's subtasks from a checkpoint: the states they handed in
// and, once all have, the multiset of rows the replay must not publish again.
type round struct {
	checkpoint uint64
	want       int // subtasks to hand their state in
	states     []sinkState
	done       chan struct{}
	err        error

	mu   sync.Mutex
	left map[rowHash]int32 // still to drop, by hash
	owed int64             // the sum of left
	// base is the multiset as loaded, which checkpoints keep until none is owed.
	base map[rowHash]int32
	// drained is the first checkpoint at which a subtask saw nothing owed; 0 until then.
	drained uint64
}

// round returns the round of checkpoint id for want subtasks, making it on first call.
func (b *batchShared) round(id uint64, want int) *round {
	b.mu.Lock()
	defer b.mu.Unlock()
	rd, ok := b.rounds[id]
	if !ok {
		rd = &round{checkpoint: id, want: want, done: make(chan struct{})}
		b.rounds[id] = rd
	}
	return rd
}

// join hands st in. The subtask that hands the last state in runs load and every subtask
// gets its error; a subtask waits at most timeout for the others.
func (rd *round) join(st sinkState, timeout time.Duration, load func([]sinkState) (map[rowHash]int32, error)) error {
	rd.mu.Lock()
	rd.states = append(rd.states, st)
	last := len(rd.states) == rd.want
	rd.mu.Unlock()
	if last {
		rd.left, rd.err = load(rd.states)
		rd.base = make(map[rowHash]int32, len(rd.left))
		for h, n := range rd.left {
			rd.base[h] = n
			rd.owed += int64(n)
		}
		rd.states = nil
		close(rd.done)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-rd.done:
		return rd.err
	case <-t.C:
		rd.mu.Lock()
		defer rd.mu.Unlock()
		return fmt.Errorf("restore from checkpoint %d: %d of %d subtasks handed their state in within %s", rd.checkpoint, len(rd.states), rd.want, timeout)
	}
}

// owing tells whether any row is still to drop.
func (rd *round) owing() bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.owed > 0
}

// take drops a row of hash h if one is owed.
func (rd *round) take(h rowHash) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.left[h] <= 0 {
		return false
	}
	rd.left[h]--
	rd.owed--
	return true
}

// keep tells whether the state of checkpoint id must keep the round: unless a subtask saw
// nothing owed at an earlier checkpoint, after which every drop came before every barrier
// of id.
func (rd *round) keep(id uint64) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.drained == 0 && rd.owed == 0 {
		rd.drained = id
	}
	return rd.drained == 0 || id <= rd.drained
}
