package plan

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/kafka"
	"millrace/spec"
)

// kafkaSource makes a kafka source's connector, asking its brokers for the partitions of its
// topics. Its consumer group defaults to millrace.<pipeline>.<source>.
func (b *builder) kafkaSource(ctx context.Context, src *spec.Source, s *arrow.Schema) (*kafka.Source, error) {
	k := src.Kafka
	key := "sources." + src.Name
	start, err := kafka.ParseStart(k.Start)
	if err != nil {
		return nil, b.spec.Errorf(key+".start", "%v", err)
	}
	group := k.Group
	if group == "" {
		group = "millrace." + b.spec.Name + "." + src.Name
	}
	ks, err := kafka.New(ctx, kafka.Options{
		Conn:   KafkaConn(k.Brokers, k.TLS, k.SASL),
		Topics: k.Topics, TopicRegex: k.TopicRegex,
		Group:    group,
		Format:   src.Format,
		Registry: k.Registry,
		Start:    start,
		Schema:   s,
		Zone:     src.Zone,
	})
	if err != nil {
		return nil, b.spec.Errorf(key, "%v", err)
	}
	return ks, nil
}

// KafkaConn turns a spec's connection settings into the kafka package's, for sources and
// sinks alike.
func KafkaConn(brokers []string, t *spec.KafkaTLS, s *spec.KafkaSASL) kafka.Conn {
	c := kafka.Conn{Brokers: brokers}
	if t != nil {
		c.TLS = &kafka.TLS{CA: t.CA, Cert: t.Cert, Key: t.Key, InsecureSkipVerify: t.InsecureSkipVerify}
	}
	if s != nil {
		c.SASL = &kafka.SASL{Mechanism: s.Mechanism, Username: s.Username, Password: kafka.Secret(s.Password), PasswordFile: s.PasswordFile}
	}
	return c
}

// startOf says where a kafka source starts without a checkpoint, for the plan.
func startOf(src *spec.Source) string {
	if src.Kafka.Start == "" {
		return "earliest"
	}
	return src.Kafka.Start
}
