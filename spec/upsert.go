package spec

import (
	"go.yaml.in/yaml/v3"
)

// The modes of a kafka sink.
const (
	// SinkAppend writes one record per row: the default.
	SinkAppend = "append"
	// SinkUpsert writes a changelog (a view that aggregates without a window) as a table by
	// key in a compacted topic: a record per insert or update, keyed by the view's group_by
	// columns, and a tombstone per delete.
	SinkUpsert = "upsert"
)

// upsertSinkFields are the keys of a sink about writing changelogs.
var upsertSinkFields = map[string]field[Sink]{
	"mode": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		if v, ok := enum(d, n, p, "mode", []string{SinkAppend, SinkUpsert}); ok {
			kafkaSink(k).Mode = v
		}
	}},
}

// finishUpsert applies mode's default and refuses what an upsert sink decides itself: the
// record key (the changelog's keys) and the value format (JSON); and commit: batch, whose
// read-back a compacted topic defeats.
func (d *decoder) finishUpsert(k *Sink, has map[string]pair) {
	if k.Kafka.Mode == "" {
		k.Kafka.Mode = SinkAppend
	}
	if k.Kafka.Mode != SinkUpsert {
		return
	}
	if p, ok := has["commit"]; ok && k.Kafka.Commit == CommitBatch {
		d.errorf(p.val, p.path, "an upsert sink commits per checkpoint: its compacted topic may drop, before a resumed run reads them back, the records that run must not publish again")
	}
	for _, key := range []string{"key", "registry"} {
		if p, ok := has[key]; ok {
			d.errorf(p.keyNode, p.path, "an upsert sink keys records by the group_by columns of the view it writes, with JSON values: leave %s out", key)
		}
	}
	if p, ok := has["format"]; ok && k.Kafka.Format != "json" {
		d.errorf(p.keyNode, p.path, "an upsert sink writes JSON values: leave format out")
	}
}
