package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNoTopic says a sink's topic does not exist and the sink may not create it.
var ErrNoTopic = errors.New("kafka: topic does not exist")

// EnsureTopic checks that topic exists on the cluster conn reaches and returns its number of
// partitions. When it does not exist it creates it with partitions partitions (and the
// brokers' default replication) if partitions > 0, and otherwise returns an error matching
// ErrNoTopic that names the brokers and the topic.
func EnsureTopic(ctx context.Context, conn Conn, topic string, partitions int32) (int, error) {
	return ensureTopic(ctx, conn, topic, partitions, nil, nil)
}

// ensureTopic is EnsureTopic creating the topic with configs, and with check, when set,
// asked about an existing topic.
func ensureTopic(ctx context.Context, conn Conn, topic string, partitions int32, configs map[string]*string,
	check func(context.Context, *kadm.Client) error) (int, error) {
	where := fmt.Sprintf("kafka topic %s on %s", topic, strings.Join(conn.Brokers, ","))
	opts, err := conn.Opts()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", where, err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", where, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", where, err)
	}
	d, ok := details[topic]
	if ok && d.Err == nil {
		if check != nil {
			if err := check(ctx, adm); err != nil {
				return 0, fmt.Errorf("%s: %w", where, err)
			}
		}
		return len(d.Partitions), nil
	}
	if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return 0, fmt.Errorf("%s: %w", where, d.Err)
	}
	if partitions <= 0 {
		return 0, fmt.Errorf("%s: %w (create it, or give the sink create: {partitions: N})", where, ErrNoTopic)
	}
	resp, err := adm.CreateTopic(ctx, partitions, -1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("%s: create with %d partitions: %w", where, partitions, err)
	}
	return int(partitions), nil
}
