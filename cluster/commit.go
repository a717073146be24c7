package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sync/errgroup"

	"millrace/engine"
	"millrace/exchange"
	"millrace/kafka"
	"millrace/objstore"
	"millrace/op"
)

// Checkpoints of a worker. At each checkpoint of its run, a generation writes the state of
// every unit it owns to the store (an object per unit, named by the checkpoint), then, in
// one transaction, produces what its exchanges and Kafka sinks handed over and commits the
// input offsets to the group, each offset's metadata naming the checkpoint. A crash before
// the commit aborts the transaction: the objects it wrote are never named by a committed
// offset, and whoever owns the units next restores the ones that are.

// checkpointsTopic is the compacted topic where every worker's transactions record their
// checkpoint, keyed by worker; a transaction always produces at least that record.
func checkpointsTopic(pipeline string) string { return TopicPrefix(pipeline) + "checkpoints" }

// ensureTopics creates the exchanges' topics and the checkpoints topic if missing.
func (w *worker) ensureTopics(ctx context.Context) error {
	kopts, err := w.opts.Conn.Opts()
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, x := range w.opts.Layout.Exchanges {
		if err := exchange.Ensure(ctx, adm, x.Topic, w.opts.Layout.KeyGroups); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	if _, err := kafka.EnsureTopic(ctx, w.opts.Conn, checkpointsTopic(w.opts.Layout.Pipeline), 1); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	for _, st := range w.opts.Layout.Stages {
		if st.Splits == "" {
			continue
		}
		want := st.Source.Source.Partitions()
		n, err := kafka.EnsureTopic(ctx, w.opts.Conn, st.Splits, int32(want))
		if err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
		if n != want {
			return fmt.Errorf("cluster: source %s has %d splits, but topic %s that hands them out has %d partitions: the input changed since the cluster began (delete the topic to start over)",
				st.Name, want, st.Splits, n)
		}
	}
	// Offset commits of newer brokers name topics by id.
	topics, err := adm.ListTopics(ctx, w.opts.Layout.Topics()...)
	if err != nil {
		return fmt.Errorf("cluster: list topics: %w", err)
	}
	w.topicIDs = map[string][16]byte{}
	for _, t := range topics {
		if t.Err != nil {
			return fmt.Errorf("cluster: topic %s: %w", t.Topic, t.Err)
		}
		w.topicIDs[t.Topic] = t.ID
	}
	return nil
}

// begin opens the transaction the next checkpoint commits.
func (w *worker) begin(ctx context.Context) error {
	if w.inTxn {
		w.abort() // what a failed attempt left open
	}
	if w.inTxn {
		return fmt.Errorf("cluster: transaction %s: the last one could not be aborted", w.txnID)
	}
	if err := w.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("cluster: begin transaction %s: %w", w.txnID, err)
	}
	w.inTxn = true
	return ctx.Err()
}

// abort ends the open transaction without committing it.
// A failed abort leaves the transaction open for the next begin to abort again.
func (w *worker) abort() {
	if !w.inTxn {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.cl.AbortBufferedRecords(ctx); err != nil {
		w.opts.Log.Warn("abort buffered records", "err", err)
		return
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		w.opts.Log.Warn("abort transaction", "transaction", w.txnID, "err", err)
		return
	}
	w.inTxn = false
}

// complete makes checkpoint s durable: the units' state in the store, then the outputs and
// the input offsets in one transaction. An error stops the generation, which resumes from
// the last committed checkpoint: nothing of this one is visible.
func (g *generation) complete(s *engine.Snapshot) error {
	err := g.commit(s)
	if err != nil {
		g.failed = err
		g.stopAttempt() // the engine would go on past a checkpoint that never committed
	}
	return err
}

func (g *generation) commit(s *engine.Snapshot) error {
	if g.failed != nil {
		return g.failed // the run ends; nothing after a checkpoint that failed commits
	}
	ctx := g.attempt
	t0 := time.Now()
	name := fmt.Sprintf("%s-%s-%d", g.w.opts.Worker, g.runName, s.ID)
	states, err := g.unitStates(s, name)
	if err != nil {
		return err
	}
	offsets, wrote, err := g.saveAll(ctx, states)
	if err != nil {
		return err
	}
	t1 := time.Now()
	records := g.box.take(s)
	records = append(records, g.w.checkpointRecord(name, len(states)))
	if err := g.w.transact(ctx, records, offsets); err != nil {
		return fmt.Errorf("cluster: checkpoint %s: %w", name, err)
	}
	g.w.rep.committed(s.ID, len(states))
	g.retain(ctx, s.ID, states)
	g.w.opts.Log.Debug("committed", "checkpoint", name, "units", len(states), "records", len(records), "save", t1.Sub(t0), "transaction", time.Since(t1),
		"objects", wrote.objects, "bytes", wrote.bytes, "named", wrote.named)
	return nil
}

// saveAll writes the units' states, eight at a time, and returns the offsets to commit
// with them and what it wrote; the first failure stops the rest.
func (g *generation) saveAll(ctx context.Context, states map[*unit]*unitState) (map[string]map[int32]kmsg.TxnOffsetCommitRequestTopicPartition, written, error) {
	offsets := map[string]map[int32]kmsg.TxnOffsetCommitRequestTopicPartition{}
	var total written
	var mu sync.Mutex
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(8)
	for u, st := range states {
		eg.Go(func() error {
			wrote, err := g.saveObject(ctx, u, st)
			if err != nil {
				return fmt.Errorf("cluster: state of %s: %w", u, err)
			}
			meta := st.Checkpoint
			p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = u.partition, st.Offset, -1, &meta
			mu.Lock()
			defer mu.Unlock()
			total.add(wrote)
			if offsets[u.topic] == nil {
				offsets[u.topic] = map[int32]kmsg.TxnOffsetCommitRequestTopicPartition{}
			}
			offsets[u.topic][u.partition] = p
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, written{}, err
	}
	return offsets, total, nil
}

// unitStates takes s apart by unit.
func (g *generation) unitStates(s *engine.Snapshot, name string) (map[*unit]*unitState, error) {
	out := map[*unit]*unitState{}
	// A keyed stage's state by key group: the key group's state of each of its stateful
	// steps. The engine takes a keyed step's (one whose inputs are all keyed) by key group;
	// that of a step after it in the stage, one part for every key group the worker owns,
	// is split by key group through its op.Rescaler. A file sink's state is not split (see
	// sharedSink).
	byGroup := map[string][][]byte{}
	k := g.w.opts.Layout.KeyGroups
	for _, stage := range g.w.opts.Layout.Stages {
		if !stage.Keyed() {
			continue
		}
		for _, n := range stage.Nodes {
			node := n.Name
			parts := s.Parts[node]
			if g.w.opts.Layout.sharedSink(node) {
				continue
			}
			if len(parts) == k && k > 1 && g.keyed[node] {
				byGroup[node] = parts // the engine took the node's state by key group
				continue
			}
			if len(parts) != 1 || parts[0] == nil {
				continue
			}
			o, err := g.nodeNamed(node).Operator(0)
			if err != nil {
				return nil, err
			}
			r, ok := o.(op.Rescaler)
			if !ok {
				return nil, &fatalError{fmt.Errorf("cluster: step %q keeps state that cannot be kept by key group: a cluster cannot yet run it after an exchange", node)}
			}
			groups, err := r.Rescale(parts, k, engine.KeyOwner(k, k))
			if err != nil {
				return nil, fmt.Errorf("cluster: %q by key group: %w", node, err)
			}
			byGroup[node] = groups
		}
	}
	decoded := map[subtask]engine.SourcePart{}
	carried := map[string]bool{}
	for _, u := range g.units {
		parts := s.Parts[u.node.Name]
		if u.sub >= len(parts) || parts[u.sub] == nil {
			continue // the subtask had not started: nothing to keep
		}
		key := subtask{u.node.Name, u.sub}
		sp, ok := decoded[key] // a keyed stage's one source subtask holds every key group
		if !ok {
			var err error
			if sp, err = engine.DecodeSourcePart(parts[u.sub]); err != nil {
				return nil, fmt.Errorf("cluster: %s: %w", u, err)
			}
			decoded[key] = sp
		}
		var pos *engine.PartitionPart
		for i := range sp.Partitions {
			if sp.Partitions[i].Index == u.index {
				pos = &sp.Partitions[i]
			}
		}
		if pos == nil || (pos.Position == nil && !pos.Done) {
			continue // never opened: nothing read, nothing to commit
		}
		var off int64 // a split read to its end commits that it is done, at offset 0
		if pos.Position != nil {
			var err error
			if off, err = u.offsetOf(u.index, pos.Position); err != nil {
				return nil, fmt.Errorf("cluster: %s: %w", u, err)
			}
		}
		st := &unitState{Pipeline: g.w.opts.Layout.Pipeline, Stage: u.stage.Name, Topic: u.topic, Partition: u.partition,
			Checkpoint: name, Offset: off, Watermark: sp.Watermark, Position: *pos, Parts: map[string][]byte{}}
		if u.stage.Keyed() {
			for _, n := range u.stage.Nodes {
				if !g.w.opts.Layout.sharedSink(n.Name) || len(s.Parts[n.Name]) == 0 || s.Parts[n.Name][0] == nil {
					continue
				}
				if !carried[n.Name] { // a file sink's, whole, with one key group of the transaction
					st.Parts[n.Name], carried[n.Name] = s.Parts[n.Name][0], true
				}
			}
		} else {
			for _, n := range u.stage.Nodes {
				if n == u.stage.Source {
					continue
				}
				if ps := s.Parts[n.Name]; u.sub < len(ps) && ps[u.sub] != nil {
					st.Parts[n.Name] = ps[u.sub]
				}
			}
		}
		out[u] = st
	}
	// A step's state of key group k goes with one unit of its stage that is saved: that of
	// the first exchange the stage reads whose partition k this checkpoint commits. A join
	// reads two exchanges, whose partition k the group gives one worker.
	carrier := map[*Stage]map[int32]*unitState{}
	for _, u := range g.units {
		st := out[u]
		if st == nil || !u.stage.Keyed() {
			continue
		}
		if carrier[u.stage] == nil {
			carrier[u.stage] = map[int32]*unitState{}
		}
		if carrier[u.stage][u.partition] == nil {
			carrier[u.stage][u.partition] = st
		}
	}
	for stage, byKG := range carrier {
		for _, n := range stage.Nodes {
			groups := byGroup[n.Name]
			if groups == nil {
				continue
			}
			for kg, st := range byKG {
				if b := groups[kg]; b != nil {
					st.Parts[n.Name] = b
				}
			}
		}
	}
	return out, nil
}

// nodeNamed is the generation's node of that name.
func (g *generation) nodeNamed(name string) *engine.Node {
	for _, n := range g.graph.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// restore reads the committed offsets of the owned units and loads the state each names,
// eight objects at a time, as the snapshot the engine resumes from; a unit with nothing
// committed starts afresh.
func (g *generation) restore() (*engine.Snapshot, error) {
	ctx := g.attempt
	committed, err := g.stableOffsets(ctx)
	if err != nil {
		return nil, err
	}
	g.stored.reset() // what an attempt that failed wrote is named by no committed offset
	states := make([]*unitState, len(g.units))
	at := make([]committedUnit, len(g.units))
	eg, lctx := errgroup.WithContext(ctx)
	eg.SetLimit(8)
	for i, u := range g.units {
		c, ok := committed.Lookup(u.topic, u.partition)
		if ok && c.Err != nil {
			return nil, fmt.Errorf("cluster: committed offset of %s: %w", u, c.Err)
		}
		if !ok || c.At < 0 || c.Metadata == "" {
			continue
		}
		eg.Go(func() error {
			st, err := g.load(lctx, u, c.Metadata)
			if err != nil {
				return err
			}
			if st.Offset != c.At {
				return &fatalError{fmt.Errorf("cluster: %s: the group committed offset %d with checkpoint %s, whose state says %d", u, c.At, c.Metadata, st.Offset)}
			}
			states[i], at[i] = st, committedUnit{checkpoint: c.Metadata, offset: c.At}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	snap := &engine.Snapshot{Parts: map[string][][]byte{}}
	sources := map[*engine.Node][]engine.SourcePart{}
	shared := map[string][][]byte{} // the copies of a keyed stage's file sink state
	for i, u := range g.units {
		n := u.node
		if sources[n] == nil {
			sources[n] = make([]engine.SourcePart, n.Parallelism)
			for j := range sources[n] {
				sources[n][j].Watermark = op.MaxWatermark
			}
		}
		sp := &sources[n][u.sub]
		st := states[i]
		if st == nil {
			sp.Partitions = append(sp.Partitions, engine.PartitionPart{Index: u.index, MaxTime: op.MinWatermark})
			sp.Watermark = op.MinWatermark
			continue
		}
		g.committed[u] = at[i]
		pos := st.Position
		pos.Index = u.index
		sp.Partitions = append(sp.Partitions, pos)
		sp.Watermark = min(sp.Watermark, st.Watermark)
		for node, b := range st.Parts {
			if u.stage.Keyed() && !g.w.opts.Layout.sharedSink(node) {
				// by key group: the engine hands a keyed step its key groups' parts, and
				// merges those of a step after it through its Rescale
				if snap.Parts[node] == nil {
					snap.Parts[node] = make([][]byte, g.w.opts.Layout.KeyGroups)
				}
				snap.Parts[node][u.partition] = b
				continue
			}
			if g.w.opts.Layout.sharedSink(node) {
				shared[node] = append(shared[node], b)
				continue
			}
			if snap.Parts[node] == nil {
				snap.Parts[node] = make([][]byte, n.Parallelism)
			}
			snap.Parts[node][u.sub] = b
		}
	}
	for node, states := range shared {
		merged, err := g.mergeShared(node, states)
		if err != nil {
			return nil, &fatalError{err}
		}
		snap.Parts[node] = [][]byte{merged}
	}
	for n, parts := range sources {
		snap.Parts[n.Name] = make([][]byte, len(parts))
		for i, sp := range parts {
			b, err := sp.Encode()
			if err != nil {
				return nil, err
			}
			snap.Parts[n.Name][i] = b
		}
	}
	return snap, nil
}

// stableOffsets reads the group's committed offsets, stable ones only: while a transaction
// that commits offsets of an owned partition has not ended (a worker that let it go is
// committing its last checkpoint, or a dead one's has yet to be aborted), it asks again
// shortly, never reading past it.
func (g *generation) stableOffsets(ctx context.Context) (kadm.OffsetResponses, error) {
	adm := kadm.NewClient(g.w.cl)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		committed, err := adm.FetchOffsets(kadm.RequireStable(ctx), g.w.opts.Group)
		if err != nil {
			return nil, fmt.Errorf("cluster: committed offsets of group %s: %w", g.w.opts.Group, err)
		}
		unstable := false
		for _, u := range g.units {
			if c, ok := committed.Lookup(u.topic, u.partition); ok && errors.Is(c.Err, kerr.UnstableOffsetCommit) {
				unstable = true
			}
		}
		if !unstable {
			return committed, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// load reads the state of u that checkpoint names: the whole object, or, while the piece
// cache holds pieces, its header first and then only the pieces the cache does not hold.
func (g *generation) load(ctx context.Context, u *unit, checkpoint string) (*unitState, error) {
	key := stateKey(g.w.opts.Layout.Pipeline, u.topic, u.partition, checkpoint)
	var warm *pieceCache
	if !g.w.cache.empty() {
		warm = g.w.cache
	}
	st, data, start, err := g.w.readState(ctx, key, warm != nil)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, &fatalError{fmt.Errorf("cluster: %s: the group committed checkpoint %s, whose state %s is missing from %s", u, checkpoint, key, g.w.opts.Store)}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: state of %s: %w", u, err)
	}
	if st.refs != nil {
		if err := g.assemble(ctx, warm, u, st, data, start); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// readState reads the state object at key (see decodeState): whole, or, when headFirst,
// the header and what follows it in one read (readHeader), a version 1 object whole.
// A damaged object is a fatalError.
func (w *worker) readState(ctx context.Context, key string, headFirst bool) (st *unitState, data []byte, start int64, err error) {
	if headFirst {
		st, data, start, err = w.readHeader(ctx, key)
		if err != nil || st != nil {
			return st, data, start, err
		}
	}
	b, err := w.opts.Store.Get(ctx, key)
	if err != nil {
		return nil, nil, 0, err
	}
	if st, data, start, err = decodeState(b); err != nil {
		return nil, nil, 0, &fatalError{fmt.Errorf("cluster: state %s in %s: %w", key, w.opts.Store, err)}
	}
	return st, data, start, nil
}

// checkpointRecord says, in the checkpoints topic, that this worker committed checkpoint
// name with the state of units units.
func (w *worker) checkpointRecord(name string, units int) *kgo.Record {
	v, _ := json.Marshal(map[string]any{"worker": w.opts.Worker, "checkpoint": name, "units": units, "at": time.Now().UTC()})
	return &kgo.Record{Topic: checkpointsTopic(w.opts.Layout.Pipeline), Partition: 0, Key: []byte(w.opts.Worker), Value: v}
}

// transact produces records and commits offsets, with their metadata, in the open
// transaction, ends it and opens the next. The offsets are committed as the group member
// of the current generation: a worker the group has moved on from is fenced.
func (w *worker) transact(ctx context.Context, records []*kgo.Record, offsets map[string]map[int32]kmsg.TxnOffsetCommitRequestTopicPartition) error {
	var mu sync.Mutex
	var produceErr error
	var wg sync.WaitGroup
	for _, r := range records {
		wg.Add(1)
		w.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				if produceErr == nil {
					produceErr = fmt.Errorf("produce to %s/%d: %w", r.Topic, r.Partition, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if produceErr != nil {
		w.abort()
		return produceErr
	}
	if err := w.commitOffsets(ctx, offsets); err != nil {
		w.abort()
		return err
	}
	if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		w.abort()
		return fmt.Errorf("commit transaction %s: %w", w.txnID, err)
	}
	w.inTxn = false
	return w.begin(ctx)
}

// commitOffsets adds the group's offsets to the open transaction.
func (w *worker) commitOffsets(ctx context.Context, offsets map[string]map[int32]kmsg.TxnOffsetCommitRequestTopicPartition) error {
	if len(offsets) == 0 {
		return nil
	}
	id, epoch, err := w.cl.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("producer id of %s: %w", w.txnID, err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = w.txnID, id, epoch, w.opts.Group
	addResp, err := add.RequestWith(ctx, w.cl)
	if err != nil {
		return fmt.Errorf("add offsets of group %s to transaction %s: %w", w.opts.Group, w.txnID, err)
	}
	if err := kerr.ErrorForCode(addResp.ErrorCode); err != nil {
		return fmt.Errorf("add offsets of group %s to transaction %s: %w", w.opts.Group, w.txnID, err)
	}
	member, gen := w.cl.GroupMetadata()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = w.txnID, w.opts.Group, id, epoch
	req.MemberID, req.Generation = member, gen
	for topic, parts := range offsets {
		t := kmsg.NewTxnOffsetCommitRequestTopic()
		t.Topic, t.TopicID = topic, w.topicIDs[topic]
		for _, p := range parts {
			t.Partitions = append(t.Partitions, p)
		}
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, w.cl)
	if err != nil {
		return fmt.Errorf("commit offsets to group %s: %w", w.opts.Group, err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("commit offset of %s/%s to group %s (generation %s): %w", t.Topic, strconv.Itoa(int(p.Partition)), w.opts.Group, strconv.Itoa(int(gen)), err)
			}
		}
	}
	return nil
}
