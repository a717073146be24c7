package exchange

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// topicConfigs are the configurations an exchange topic is created with: the broker never
// deletes records by age or size, as the exchange is trimmed (see Trim) only below what its
// readers have committed.
func topicConfigs() map[string]*string {
	never := "-1"
	return map[string]*string{"retention.ms": &never, "retention.bytes": &never}
}

// Ensure makes sure topic exists with keyGroups partitions: it creates it so (with the
// brokers' default replication, and no retention by time or size), or checks that an
// existing topic has exactly that many partitions. Another count is an error naming the
// topic and both counts.
func Ensure(ctx context.Context, adm *kadm.Client, topic string, keyGroups int) error {
	if keyGroups <= 0 {
		return fmt.Errorf("exchange topic %s: %d key groups", topic, keyGroups)
	}
	n, err := partitionCount(ctx, adm, topic)
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		resp, cerr := adm.CreateTopic(ctx, int32(keyGroups), -1, topicConfigs(), topic)
		if cerr == nil {
			cerr = resp.Err
		}
		if cerr == nil {
			return nil
		}
		if !errors.Is(cerr, kerr.TopicAlreadyExists) {
			return fmt.Errorf("exchange topic %s: create with %d partitions: %w", topic, keyGroups, cerr)
		}
		n, err = partitionCount(ctx, adm, topic) // another worker made it first
	}
	if err != nil {
		return fmt.Errorf("exchange topic %s: %w", topic, err)
	}
	if n != keyGroups {
		return fmt.Errorf("exchange topic %s has %d partitions, want one per key group, %d: delete it, or give it that many", topic, n, keyGroups)
	}
	return nil
}

// partitionCount is the number of partitions of topic, or an error matching
// kerr.UnknownTopicOrPartition when it does not exist. It asks the brokers, never the
// client's cache of metadata, which may still say a topic made a moment ago is missing.
func partitionCount(ctx context.Context, adm *kadm.Client, topic string) (int, error) {
	// Asking for the authorized operations is how kadm lets a caller bypass the cache.
	details, err := adm.ListTopics(kadm.WithAuthorizedOps(ctx), topic)
	if err != nil {
		return 0, fmt.Errorf("list: %w", err)
	}
	d, ok := details[topic]
	if !ok {
		return 0, kerr.UnknownTopicOrPartition
	}
	if d.Err != nil {
		return 0, d.Err
	}
	return len(d.Partitions), nil
}

// Trim deletes the records of topic below the given offsets, partition by partition: the
// offsets the exchange's readers have committed, whose records no reader will read again.
// A partition's failure is an error naming the topic, partition and offset.
func Trim(ctx context.Context, adm *kadm.Client, topic string, below map[int32]int64) error {
	if len(below) == 0 {
		return nil
	}
	offsets := kadm.Offsets{}
	for p, at := range below {
		offsets.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
	}
	resps, err := adm.DeleteRecords(ctx, offsets)
	if err != nil {
		return fmt.Errorf("trim exchange topic %s: %w", topic, err)
	}
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(below)) {
		r, ok := resps.Lookup(topic, p)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("trim exchange %s/%d below offset %d: the brokers did not answer for it", topic, p, below[p]))
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("trim exchange %s/%d below offset %d: %w", topic, p, below[p], r.Err))
		}
	}
	return errors.Join(errs...)
}
