package kafkatest

import (
	"encoding/json"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// transaction is a generated transaction as encoding/json decodes it: what a hand-written
// consumer of the topic would do with each value.
type transaction struct {
	TxID       string      `json:"tx_id"`
	Ts         string      `json:"ts"`
	AccountID  string      `json:"account_id"`
	CardID     string      `json:"card_id"`
	MerchantID string      `json:"merchant_id"`
	MCC        int32       `json:"mcc"`
	Amount     json.Number `json:"amount"`
	Currency   string      `json:"currency"`
	Country    string      `json:"country"`
	Channel    string      `json:"channel"`
	Lat        *float64    `json:"lat"`
	Lon        *float64    `json:"lon"`
	IsFraud    *bool       `json:"is_fraud"`
}

// BareConsume is the baseline the Kafka benchmarks measure millrace against: a bare
// franz-go loop that reads records transactions from every partition of topic and decodes
// each value with encoding/json into a struct, b.N times. It reports records/s.
func BareConsume(b *testing.B, brokers []string, topic string, partitions int32, records int) {
	b.Helper()
	offsets := map[int32]kgo.Offset{}
	for p := range partitions {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	for b.Loop() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
		if err != nil {
			b.Fatal(err)
		}
		var tx transaction
		for n := 0; n < records; {
			fetches := cl.PollRecords(b.Context(), 16384)
			if err := fetches.Err(); err != nil {
				b.Fatal(err)
			}
			for it := fetches.RecordIter(); !it.Done(); {
				if err := json.Unmarshal(it.Next().Value, &tx); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		cl.Close()
	}
	b.ReportMetric(float64(records*b.N)/b.Elapsed().Seconds(), "records/s")
}
