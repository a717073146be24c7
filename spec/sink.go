package spec

import (
	"fmt"
	"path/filepath"
	"strings"

	"millrace/format"

	"go.yaml.in/yaml/v3"
)

// sink decodes the sink called name, whose name key is key and settings val.
func (d *decoder) sink(name string, key, val *yaml.Node, path string) *Sink {
	k := &Sink{Name: name, Pos: d.pos(key)}
	pairs, ok := d.mapping(val, path, "a mapping of sink settings, such as {from: velocity, kind: jsonl, path: out/velocity.jsonl}")
	if !ok {
		return nil
	}
	kindOf, rest := splitKind(d, key, path, "sink", pairs, SinkKinds)
	k.Kind = kindOf
	kind := string(kindOf)
	decodeFields(d, k, rest, path, sinkFields, kind, "sink")
	has := make(map[string]pair, len(pairs))
	for _, p := range pairs {
		has[p.key] = p
	}
	if _, ok := has["from"]; !ok {
		d.errorf(key, path, "from is required: the source, view or side stream it writes")
	}
	d.finishSink(k, key, path, has)
	return k
}

// fileSinks are the sink kinds that write files.
var fileSinks = kinds(SinkParquet, SinkJSONL, SinkCSV)

// finishSink applies the defaults and the checks that involve several keys of a sink; has
// maps each key the sink gives to its pair.
func (d *decoder) finishSink(k *Sink, key *yaml.Node, path string, has map[string]pair) {
	switch k.Kind {
	case SinkStdout, SinkNATS:
		if k.Format == "" {
			k.Format = format.JSONL
		}
		for _, req := range map[SinkKind][]string{SinkNATS: {"url", "subject"}}[k.Kind] {
			if _, ok := has[req]; !ok {
				d.errorf(key, path, "%s is required for a %s sink", req, k.Kind)
			}
		}
		return
	case SinkKafka:
		d.finishKafkaSink(k, key, path, has)
		return
	case SinkView, "":
		return
	}
	k.Format = format.Kind(k.Kind)
	p, hasPath := has["path"]
	if !hasPath {
		d.errorf(key, path, "path is required for a %s sink: the file, or directory of part files, it writes", k.Kind)
	}
	d.finishS3Sink(k, path, has)
	var codec format.Codec
	if k.Path != "" {
		detected, c, err := format.Detect(k.Path)
		codec = c
		switch {
		case err == nil && detected != k.Format:
			d.errorf(p.val, p.path, "path %q names a %s file, but the sink is kind %s", k.Path, detected, k.Kind)
		case err == nil && len(k.PartitionBy) > 0:
			d.errorf(p.val, p.path, "path %q names a file, but partition_by writes part files into a directory: give a directory", k.Path)
		case err == nil && k.Kind == SinkParquet && codec != format.NoCodec:
			d.errorf(p.val, p.path, "a Parquet file cannot be wrapped in %s: Parquet compresses its own pages (see compression)", codec)
		}
	}
	c, given := has["compression"]
	if k.Kind == SinkParquet {
		if !given {
			k.Compression = string(format.Zstd)
			return
		}
		if v, ok := enum(d, c.val, c.path, "Parquet compression", []format.Compression{format.Zstd, format.Snappy, format.Uncompressed}); ok {
			k.Compression = string(v)
		}
		return
	}
	byPath := map[format.Codec]string{format.NoCodec: "none", format.Gzip: "gzip", format.ZstdRaw: "zstd"}[codec]
	if !given {
		k.Compression = byPath
		return
	}
	v, ok := enum(d, c.val, c.path, "compression", []string{"gzip", "zstd", "none"})
	if !ok {
		return
	}
	if codec != format.NoCodec && v != byPath {
		d.errorf(c.val, c.path, "is %s, but path %q says %s", v, k.Path, byPath)
		return
	}
	k.Compression = v
}

// finishS3Sink checks a file sink's S3 keys against its path: a path in S3 is a prefix of
// part files, and only such a path has a server.
func (d *decoder) finishS3Sink(k *Sink, path string, has map[string]pair) {
	if !strings.HasPrefix(k.Path, "s3://") {
		for _, key := range []string{"endpoint", "region", "path_style"} {
			if pr, ok := has[key]; ok {
				d.errorf(pr.val, pr.path, "is for a sink in S3 (path: s3://bucket/prefix/), and path %q is a local path", k.Path)
			}
		}
		return
	}
	if _, _, err := format.Detect(k.Path); err == nil {
		p := has["path"]
		d.errorf(p.val, p.path, "path %q names a file, but a sink in S3 writes part files under a prefix, each published when a checkpoint commits: give s3://bucket/prefix/", k.Path)
	}
}

// finishKafkaSink checks the keys a kafka sink requires and applies its defaults.
func (d *decoder) finishKafkaSink(k *Sink, key *yaml.Node, path string, has map[string]pair) {
	if k.Kafka == nil {
		k.Kafka = &KafkaSink{}
	}
	for _, req := range []string{"brokers", "topic"} {
		if _, ok := has[req]; !ok {
			d.errorf(key, path, "%s is required for a kafka sink", req)
		}
	}
	if k.Kafka.Delivery == "" {
		k.Kafka.Delivery = DeliveryExactlyOnce
	}
	if k.Kafka.Format == "" {
		k.Kafka.Format = "json"
	}
	if c, ok := has["commit"]; ok && k.Kafka.Commit == CommitBatch && k.Kafka.Delivery != DeliveryExactlyOnce {
		d.errorf(c.val, c.path, "commit: %s is for delivery: %s; %s produces rows as they arrive already", CommitBatch, DeliveryExactlyOnce, k.Kafka.Delivery)
	}
	if k.Kafka.Commit == "" {
		k.Kafka.Commit = CommitCheckpoint
	}
	r, hasRegistry := has["registry"]
	switch {
	case k.Kafka.Format == "avro" && !hasRegistry:
		d.errorf(key, path, "format avro needs registry: the schema registry's URL")
	case k.Kafka.Format != "avro" && hasRegistry:
		d.errorf(r.keyNode, r.path, "a schema registry is for format: avro")
	}
	d.finishUpsert(k, has)
}

// kafkaSink returns the kafka settings of k, made on first use.
func kafkaSink(k *Sink) *KafkaSink {
	if k.Kafka == nil {
		k.Kafka = &KafkaSink{}
	}
	return k.Kafka
}

// sinkFields are the keys of a sink other than kind.
var sinkFields = withFields(map[string]field[Sink]{
	"from": {set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		if deref(n).Kind == yaml.SequenceNode {
			d.errorf(n, p, "must be one source or view name: a sink writes one stream (union several in a view with from: [a, b])")
			return
		}
		k.From, _ = d.str(n, p, "a source or view name")
	}},
	"path": {only: fileSinks, set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.Path, _ = d.str(n, p, "a file or directory path")
	}},
	"format": {only: kinds(SinkStdout, SinkKafka, SinkNATS), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		if k.Kind == SinkKafka {
			if v, ok := enum(d, n, p, "record format", []string{"json", "avro"}); ok {
				kafkaSink(k).Format = v
			}
			return
		}
		if v, ok := d.str(n, p, "jsonl or csv"); ok {
			f, err := format.ParseKind(v)
			if err == nil && f == format.Parquet {
				d.errorf(n, p, "%s takes jsonl or csv, not parquet", k.Kind)
				return
			}
			if err != nil {
				d.errorf(n, p, "%v", err)
				return
			}
			k.Format = f
		}
	}},
	"endpoint": {only: fileSinks, set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.S3.Endpoint, _ = d.str(n, p, "an S3 endpoint such as http://host:port")
	}},
	"region": {only: fileSinks, set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.S3.Region, _ = d.str(n, p, "an S3 region such as eu-west-1")
	}},
	"path_style": {only: fileSinks, set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.S3.PathStyle, _ = d.boolean(n, p)
	}},
	"partition_by": {only: fileSinks, set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.PartitionBy = d.exprs(n, p, "a list of expressions")
	}},
	"brokers": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a list of host:port addresses")
		for _, it := range items {
			if v, ok := d.str(it.node, it.path, "a host:port address"); ok {
				kafkaSink(k).Brokers = append(kafkaSink(k).Brokers, v)
			}
		}
	}},
	"tls": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		kafkaSink(k).TLS = d.kafkaTLS(n, p)
	}},
	"sasl": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		kafkaSink(k).SASL = d.kafkaSASL(n, p)
	}},
	"topic": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		kafkaSink(k).Topic, _ = d.str(n, p, "a topic name")
	}},
	"key": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		kafkaSink(k).Key, _ = d.expr(n, p)
	}},
	"headers": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		pairs, _ := d.mapping(n, p, "a mapping of header names to expressions, such as {channel: channel}")
		for _, h := range pairs {
			if e, ok := d.expr(h.val, h.path); ok {
				kafkaSink(k).Headers = append(kafkaSink(k).Headers, Field{Name: h.key, Expr: e})
			}
		}
	}},
	"delivery": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		if v, ok := enum(d, n, p, "delivery", []string{DeliveryExactlyOnce, DeliveryAtLeastOnce, DeliveryNone}); ok {
			kafkaSink(k).Delivery = v
		}
	}},
	"commit": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		if v, ok := enum(d, n, p, "commit mode", []string{CommitCheckpoint, CommitBatch}); ok {
			kafkaSink(k).Commit = v
		}
	}},
	"registry": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		kafkaSink(k).Registry, _ = d.str(n, p, "a schema registry URL")
	}},
	"create": {only: kinds(SinkKafka), set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		pairs, ok := d.mapping(n, p, "a mapping such as {partitions: 4}")
		if !ok {
			return
		}
		if len(pairs) == 0 {
			d.errorf(n, p, "is empty; want {partitions: N}")
		}
		for _, c := range pairs {
			if c.key != "partitions" {
				d.errorf(c.keyNode, c.path, "unknown key; create takes partitions")
				continue
			}
			v, ok := d.integer(c.val, c.path)
			if ok && (v < 1 || v > 1<<20) {
				d.errorf(c.val, c.path, "%d partitions: want 1 or more", v)
				continue
			}
			kafkaSink(k).Partitions = int32(v)
		}
	}},
	"overwrite": {only: fileSinks, set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.Overwrite, _ = d.boolean(n, p)
	}},
	"redact": {only: fileSinks, set: func(d *decoder, k *Sink, n *yaml.Node, p string) {
		k.Redact, _ = d.boolean(n, p)
	}},
	"compression": {only: fileSinks, set: func(*decoder, *Sink, *yaml.Node, string) {
		// Checked in finishSink: what is allowed depends on the kind and the path.
	}},
}, natsSinkFields, upsertSinkFields, natsConnFields(kinds(SinkNATS), func(k *Sink) *NATSConn { return &k.NATS.NATSConn }))

// systemDirs are the directories no sink writes into, even given as absolute paths: what
// is there belongs to the operating system, and a mistyped path must not replace it.
var systemDirs = []string{"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr"}

// unsafeSinkPath says why a sink may not write at path, or returns "". A relative path
// is relative to the working directory and must stay inside it: one that climbs out with
// ".." must be written as an absolute path, so that leaving the tree is said on purpose.
// No path may lead into a system directory.
func unsafeSinkPath(path string) string {
	clean := filepath.Clean(path)
	if !filepath.IsAbs(clean) {
		if !filepath.IsLocal(clean) {
			return fmt.Sprintf("%q climbs out of the working directory; a relative sink path stays inside it: to write there on purpose, give the absolute path", path)
		}
		return ""
	}
	for _, dir := range systemDirs {
		if clean == dir || strings.HasPrefix(clean, dir+"/") {
			return fmt.Sprintf("%q is inside %s, a system directory, where no sink writes: write the output elsewhere", path, dir)
		}
	}
	return ""
}
