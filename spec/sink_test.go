package spec

import (
	"testing"

	"millrace/format"
)

func TestSinkDefaults(t *testing.T) {
	s := mustParse(t, head+`sinks:
  lake: {from: tx, kind: parquet, path: out/lake}
  lake_snappy: {from: tx, kind: parquet, path: out/tx.parquet, compression: snappy}
  plain: {from: tx, kind: jsonl, path: out/tx.jsonl}
  gz: {from: tx, kind: csv, path: out/tx.csv.gz}
  zst_dir: {from: tx, kind: jsonl, path: out/parts, compression: zstd, partition_by: "date(ts)"}
  same: {from: tx, kind: jsonl, path: out/y.jsonl.zst, compression: zstd}
  screen: {from: tx.dead_letters, kind: stdout}
  screen_csv: {from: tx, kind: stdout, format: csv}
`)
	tests := []struct {
		name        string
		format      format.Kind
		compression string
		partitions  int
	}{
		{"lake", format.Parquet, "zstd", 0},
		{"lake_snappy", format.Parquet, "snappy", 0},
		{"plain", format.JSONL, "none", 0},
		{"gz", format.CSV, "gzip", 0},
		{"zst_dir", format.JSONL, "zstd", 1},
		{"same", format.JSONL, "zstd", 0},
		{"screen", format.JSONL, "", 0},
		{"screen_csv", format.CSV, "", 0},
	}
	for _, tt := range tests {
		k := s.Sink(tt.name)
		if k.Format != tt.format || k.Compression != tt.compression || len(k.PartitionBy) != tt.partitions {
			t.Errorf("%s = %+v, want format %s, compression %q, %d partition keys", tt.name, k, tt.format, tt.compression, tt.partitions)
		}
	}
	if p := s.Sink("zst_dir").PartitionBy[0]; p.Text != "date(ts)" || p.Path != "sinks.zst_dir.partition_by" {
		t.Errorf("partition_by = %+v", p)
	}
}

func TestSinkErrors(t *testing.T) {
	sink := func(body string) string { return head + "sinks:\n  out: " + body + "\n" }
	checkErrors(t, []errorCase{
		{"unknown kind", sink("{from: tx, kind: kafca}"), []string{
			`t.yaml:5: sinks.out.kind: unknown sink kind "kafca" (did you mean "kafka"?)`,
		}},
		{"S3 settings on a local path", sink("{from: tx, kind: parquet, path: out/lake, endpoint: 'http://s3:9000', path_style: true}"), []string{
			`t.yaml:5: sinks.out.endpoint: is for a sink in S3 (path: s3://bucket/prefix/), and path "out/lake" is a local path`,
			`t.yaml:5: sinks.out.path_style: is for a sink in S3 (path: s3://bucket/prefix/), and path "out/lake" is a local path`,
		}},
		{"one file in S3", sink("{from: tx, kind: parquet, path: 's3://lake/tx.parquet', region: eu-west-1}"), []string{
			`t.yaml:5: sinks.out.path: path "s3://lake/tx.parquet" names a file, but a sink in S3 writes part files under a prefix, each published when a checkpoint commits: give s3://bucket/prefix/`,
		}},
		{"kafka without brokers or topic", sink("{from: tx, kind: kafka}"), []string{
			"t.yaml:5: sinks.out: brokers is required for a kafka sink",
			"t.yaml:5: sinks.out: topic is required for a kafka sink",
		}},
		{"kafka delivery and create", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, delivery: twice, create: {partitons: 2}}"), []string{
			`t.yaml:5: sinks.out.delivery: unknown delivery "twice" (want exactly_once, at_least_once or none)`,
			"t.yaml:5: sinks.out.create.partitons: unknown key; create takes partitions",
		}},
		{"kafka commit", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, commit: often}"), []string{
			`t.yaml:5: sinks.out.commit: unknown commit mode "often" (want checkpoint or batch)`,
		}},
		{"kafka commit per batch at least once", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, delivery: at_least_once, commit: batch}"), []string{
			"t.yaml:5: sinks.out.commit: commit: batch is for delivery: exactly_once; at_least_once produces rows as they arrive already",
		}},
		{"kafka upsert committing per batch", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, mode: upsert, commit: batch}"), []string{
			"t.yaml:5: sinks.out.commit: an upsert sink commits per checkpoint: its compacted topic may drop, before a resumed run reads them back, the records that run must not publish again",
		}},
		{"kafka create without partitions", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, create: {partitions: 0}}"), []string{
			"t.yaml:5: sinks.out.create.partitions: 0 partitions: want 1 or more",
		}},
		{"kafka avro without registry", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, format: avro}"), []string{
			"t.yaml:5: sinks.out: format avro needs registry: the schema registry's URL",
		}},
		{"kafka registry without avro", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, registry: http://r:8081}"), []string{
			"t.yaml:5: sinks.out.registry: a schema registry is for format: avro",
		}},
		{"kafka sasl password written out", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, sasl: {mechanism: PLAIN, username: u, password: hunter2}}"), []string{
			"t.yaml:5: sinks.out.sasl.password: write the password as ${VAR}, an environment variable, or use password_file: a spec never holds a secret",
		}},
		{"path on a kafka sink", sink("{from: tx, kind: kafka, brokers: [b:9092], topic: t, path: o.jsonl}"), []string{
			"t.yaml:5: sinks.out.path: kafka sinks take no path (it is for parquet, jsonl or csv sinks)",
		}},
		{"path missing", sink("{from: tx, kind: csv}"), []string{
			"t.yaml:5: sinks.out: path is required for a csv sink: the file, or directory of part files, it writes",
		}},
		{"format on a file sink", sink("{from: tx, kind: csv, path: o.csv, format: csv}"), []string{
			"t.yaml:5: sinks.out.format: csv sinks take no format (it is for stdout, kafka or nats sinks)",
		}},
		{"parquet on stdout", sink("{from: tx, kind: stdout, format: parquet}"), []string{
			"t.yaml:5: sinks.out.format: stdout takes jsonl or csv, not parquet",
		}},
		{"partitions on stdout", sink("{from: tx, kind: stdout, partition_by: [x]}"), []string{
			"t.yaml:5: sinks.out.partition_by: stdout sinks take no partition_by (it is for parquet, jsonl or csv sinks)",
		}},
		{"partitions into a file", sink("{from: tx, kind: jsonl, path: o.jsonl, partition_by: [x]}"), []string{
			`t.yaml:5: sinks.out.path: path "o.jsonl" names a file, but partition_by writes part files into a directory: give a directory`,
		}},
		{"compressed parquet file", sink("{from: tx, kind: parquet, path: o.parquet.gz}"), []string{
			"t.yaml:5: sinks.out.path: a Parquet file cannot be wrapped in gz: Parquet compresses its own pages (see compression)",
		}},
		{"text compression", sink("{from: tx, kind: jsonl, path: o.jsonl, compression: snappy}"), []string{
			`t.yaml:5: sinks.out.compression: unknown compression "snappy" (want gzip, zstd or none)`,
		}},
		{"unknown from", sink("{from: velocity, kind: stdout}"), []string{
			`t.yaml:5: sinks.out.from: unknown source or view "velocity"`,
		}},
		{"bad sink name", head + "sinks:\n  my-sink: {from: tx, kind: stdout}\n", []string{
			`t.yaml:5: sinks.my-sink: "my-sink" is not a valid sink name: use letters, digits and _, not starting with a digit`,
		}},
	})
}

func TestSinkSafetyKeys(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  tx: {kind: file, path: data/tx.jsonl, schema: transaction, redact: [card_id, cvv]}
sinks:
  dead: {from: tx.dead_letters, kind: jsonl, path: out/dead.jsonl, redact: true}
  mine: {from: tx, kind: jsonl, path: /srv/out/tx.jsonl, overwrite: true}
  here: {from: tx, kind: jsonl, path: out/../tx.jsonl}
`)
	if got := s.Source("tx").Redact; len(got) != 2 || got[0] != "card_id" || got[1] != "cvv" {
		t.Errorf("sources.tx.redact = %q, want [card_id cvv]", got)
	}
	if k := s.Sink("dead"); !k.Redact || k.Overwrite {
		t.Errorf("sinks.dead = %+v, want redact and not overwrite", k)
	}
	if k := s.Sink("mine"); k.Redact || !k.Overwrite {
		t.Errorf("sinks.mine = %+v, want overwrite and not redact", k)
	}
}
