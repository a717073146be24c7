package kafka

import (
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// register records, before the subtask produces anything, that n subtasks produce for the
// sink: the offset of partition 0 of the topic in the consumer group named by the sink's id
// is the most subtasks any attempt ever had. Each attempt writes it once.
func (s *Sink) register(n int) error {
	sh := s.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.registered >= n {
		return nil
	}
	had, err := s.registered()
	if err != nil {
		return err
	}
	if had < n {
		ctx, cancel := s.call()
		defer cancel()
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: s.opts.Topic, Partition: 0, At: int64(n), LeaderEpoch: -1})
		resp, err := kadm.NewClient(s.cl).CommitOffsets(ctx, s.opts.ID, os)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("kafka sink %s: record %d subtasks in group %s: %w", s.opts.Topic, n, s.opts.ID, err)
		}
	}
	sh.registered = n
	return nil
}

// registered reads the most subtasks any attempt recorded with register.
func (s *Sink) registered() (int, error) {
	ctx, cancel := s.call()
	defer cancel()
	offsets, err := kadm.NewClient(s.cl).FetchOffsets(ctx, s.opts.ID)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("kafka sink %s: read the subtasks recorded in group %s: %w", s.opts.Topic, s.opts.ID, err)
	}
	o, ok := offsets.Lookup(s.opts.Topic, 0)
	if !ok || o.Err != nil || o.At < 0 {
		return 0, nil
	}
	return int(o.At), nil
}

// ends returns where each partition of the topic ends now.
func (s *Sink) ends() ([]partEnd, error) {
	ctx, cancel := s.call()
	defer cancel()
	listed, err := kadm.NewClient(s.cl).ListEndOffsets(ctx, s.opts.Topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list the end offsets of %s: %w", s.opts.Topic, err)
	}
	var out []partEnd
	listed.Each(func(o kadm.ListedOffset) { out = append(out, partEnd{partition: o.Partition, offset: o.Offset}) })
	slices.SortFunc(out, func(a, b partEnd) int { return int(a.partition - b.partition) })
	return out, nil
}

// restoreBatch hands the subtask's restored state in to the round of its checkpoint and,
// once every subtask has, makes batches go out as they arrive, dropping what the round
// holds as published.
func (s *Sink) restoreBatch(st sinkState, n int) error {
	if st.live == nil {
		return fmt.Errorf("kafka sink %s: restore subtask %d: the checkpoint was taken by a sink that commits per checkpoint", s.opts.Topic, s.sub)
	}
	rd := s.shared.round(st.live.checkpoint, n)
	if err := rd.join(st, s.opts.Timeout, s.load); err != nil {
		return fmt.Errorf("kafka sink %s: %w", s.opts.Topic, err)
	}
	s.batch.round = rd
	s.batch.from, s.batch.epoch, s.batch.live = st.live.checkpoint, st.live.checkpoint, true
	return nil
}

// load returns the multiset of rows a replay from the checkpoint of states must not publish
// again: what the checkpoint still owed from an earlier restore, and what was committed after
// it, read back from the topic once every transactional id the sink ever used is taken.
func (s *Sink) load(states []sinkState) (map[rowHash]int32, error) {
	lv := states[0].live
	run := states[0].run
	left := map[rowHash]int32{}
	starts := map[int32]int64{}
	for _, st := range states {
		if st.run != "" {
			run = st.run
		}
		for h, c := range st.live.base {
			left[h] += c
		}
		for _, e := range st.live.ends {
			if at, ok := starts[e.partition]; !ok || e.offset < at {
				starts[e.partition] = e.offset
			}
		}
	}
	for _, st := range states {
		for h, c := range st.live.drops {
			left[h] -= c
		}
	}
	for h, c := range left {
		if c <= 0 {
			delete(left, h)
		}
	}
	if err := s.fenceAll(len(states)); err != nil {
		return nil, err
	}
	mine := func(l label) bool {
		if l.sink != s.opts.ID || l.run != run {
			return false
		}
		if l.attempt == lv.attempt {
			return l.epoch >= lv.checkpoint
		}
		return l.from == lv.checkpoint
	}
	err := s.readBack(starts, func(r *kgo.Record) {
		for _, h := range r.Headers {
			if h.Key != headerName {
				continue
			}
			if l, ok := parseLabel(string(h.Value)); ok && mine(l) {
				left[hashRecord(r)]++
			}
			return
		}
	})
	if err != nil {
		return nil, fmt.Errorf("restore from checkpoint %d: %w", lv.checkpoint, err)
	}
	return left, nil
}

// fenceAll takes, with a client of its own each, the transactional ids of the subtasks from
// n up to the most the sink ever recorded: whatever transaction an attempt with more
// subtasks left open is then aborted, or completed if its commit had begun. The ids below n
// are this attempt's own, taken when its subtasks opened.
func (s *Sink) fenceAll(n int) error {
	most, err := s.registered()
	if err != nil {
		return err
	}
	for sub := n; sub < most; sub++ {
		cl, err := s.transactional(sub)
		if err != nil {
			return err
		}
		err = s.fence(cl, sub)
		cl.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// readBack calls each for every record a read_committed consumer sees in the topic from
// starts (a partition missing there from its first offset) up to where each partition ends
// now. It fetches by hand, so that it knows its position past transaction markers and
// aborted records, which a consumer never hands over.
func (s *Sink) readBack(starts map[int32]int64, each func(*kgo.Record)) error {
	ends, err := s.ends()
	if err != nil {
		return err
	}
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(int16(kmsg.Fetch), 12) // topics by name
	opts, err := s.opts.Conn.Opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.MaxVersions(versions))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := s.call()
	defer cancel()
	meta, err := kadm.NewClient(cl).Metadata(ctx, s.opts.Topic)
	if err != nil {
		return fmt.Errorf("metadata of %s: %w", s.opts.Topic, err)
	}
	td, ok := meta.Topics[s.opts.Topic]
	if !ok {
		return fmt.Errorf("metadata of %s: the brokers do not list the topic", s.opts.Topic)
	}
	if td.Err != nil {
		return fmt.Errorf("metadata of %s: %w", s.opts.Topic, td.Err)
	}
	for _, e := range ends {
		at, ok := starts[e.partition]
		if !ok {
			at = 0
		}
		leader := td.Partitions[e.partition].Leader
		for at < e.offset {
			req := kmsg.NewPtrFetchRequest()
			req.ReplicaID, req.MaxWaitMillis, req.MaxBytes, req.IsolationLevel = -1, 500, 16<<20, 1
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic = s.opts.Topic
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LogStartOffset = e.partition, at, 8<<20, -1, -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl.Broker(int(leader)))
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			if err != nil {
				return fmt.Errorf("read back %s partition %d at offset %d: %w", s.opts.Topic, e.partition, at, err)
			}
			for _, t := range resp.Topics {
				for i := range t.Partitions {
					p := &t.Partitions[i]
					if p.Partition != e.partition {
						continue
					}
					if err := kerr.ErrorForCode(p.ErrorCode); errors.Is(err, kerr.OffsetOutOfRange) && at < p.LogStartOffset {
						at = p.LogStartOffset // the log begins later: nothing before it is left
						continue
					} else if err != nil {
						return fmt.Errorf("read back %s partition %d at offset %d: %w", s.opts.Topic, e.partition, at, err)
					}
					fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
						Offset: at, IsolationLevel: kgo.ReadCommitted(), Topic: s.opts.Topic, Partition: e.partition,
					}, p, kgo.DefaultDecompressor(), nil)
					for _, r := range fp.Records {
						if r.Offset < e.offset {
							each(r)
						}
					}
					if next > at {
						at = next
					}
				}
			}
		}
	}
	return nil
}

// rescaleLive gives, committing per batch, every new subtask a state (so that each hands
// one in to the restore's round) and new subtask 0 what the old ones had together: the
// least end of each partition, the multiset still owed and their drops.
func (s *Sink) rescaleLive(states [][]byte, out []*sinkState) error {
	var merged *liveState
	run := ""
	for i, b := range states {
		if b == nil {
			continue
		}
		st, err := decodeSinkState(b)
		if err != nil {
			return fmt.Errorf("kafka sink %s: rescale: subtask %d: %w", s.opts.Topic, i, err)
		}
		if st.live == nil {
			continue
		}
		if st.run != "" {
			run = st.run
		}
		if merged == nil {
			merged = &liveState{checkpoint: st.live.checkpoint, attempt: st.live.attempt, base: map[rowHash]int32{}, drops: map[rowHash]int32{}}
		}
		for _, e := range st.live.ends {
			k := slices.IndexFunc(merged.ends, func(m partEnd) bool { return m.partition == e.partition })
			switch {
			case k < 0:
				merged.ends = append(merged.ends, e)
			case e.offset < merged.ends[k].offset:
				merged.ends[k].offset = e.offset
			}
		}
		for h, c := range st.live.base {
			merged.base[h] += c
		}
		for h, c := range st.live.drops {
			merged.drops[h] += c
		}
	}
	if merged == nil {
		return nil
	}
	for i := range out {
		if out[i] == nil {
			out[i] = &sinkState{subState: subState{subtask: i, run: run}}
		}
		out[i].live = &liveState{checkpoint: merged.checkpoint, attempt: merged.attempt}
	}
	out[0].live = merged
	return nil
}
