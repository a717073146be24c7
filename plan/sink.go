package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"millrace/engine"
	"millrace/expr"
	"millrace/format"
	"millrace/objstore"
	"millrace/op"
	"millrace/redact"
	"millrace/sink"
	"millrace/spec"
)

// sink adds a sink node reading its stream.
func (b *builder) sink(k *spec.Sink) error {
	path := "sinks." + k.Name
	from, err := b.lookup(k.From)
	if err != nil {
		return err
	}
	name := "sink." + k.Name
	if k.Kind == spec.SinkKafka {
		return b.kafkaSink(k, name, from)
	}
	if k.Kind == spec.SinkStdout {
		kind := k.Format
		if kind == "" {
			kind = format.JSONL
		}
		w := b.opts.Stdout
		n := &engine.Node{Name: name, Parallelism: 1, Operator: func(int) (op.Operator, error) {
			return sink.NewWriter(w, kind, from.schema)
		}}
		b.addNode(n, KindSink, nil, fmt.Sprintf("write %s to stdout", kind))
		b.plan.Outputs = append(b.plan.Outputs, Output{Sink: k.Name, Node: name, Kind: string(kind), Schema: from.schema})
		b.connect(from, n, 0, engine.Rebalance)
		return nil
	}
	if k.Kind == spec.SinkNATS {
		return b.natsSink(k, from, name)
	}
	if k.Kind == spec.SinkView {
		return b.viewSink(k, name, from)
	}
	kind, _, derr := format.Detect(k.Path)
	opts := sink.FileOptions{Path: k.Path, Kind: format.Kind(k.Kind), Dir: derr != nil || len(k.PartitionBy) > 0, Overwrite: k.Overwrite}
	if kind == format.Parquet && k.Compression != "" {
		opts.Write.Compression = format.Compression(k.Compression)
	}
	if k.Redact {
		name, _ := spec.SplitRef(k.From)
		if src := b.spec.Source(name); src != nil {
			opts.Rewrite = redact.ForSource(src).DeadLetters
		}
	}
	for i, pe := range k.PartitionBy {
		e, err := compile(pe, from.schema)
		if err != nil {
			return err
		}
		opts.PartitionBy = append(opts.PartitionBy, sink.Partitioner{Name: partitionName(e, i), Eval: e.Eval})
	}
	if strings.HasPrefix(k.Path, "s3://") {
		if err := b.s3Sink(k, &opts); err != nil {
			return err
		}
	}
	newFile, err := sink.NewFileFactory(from.schema, opts)
	if err != nil {
		return b.spec.Errorf(path, "%v", err)
	}
	p := 1
	if opts.Dir {
		p = b.opts.Parallelism
	}
	n := &engine.Node{Name: name, Parallelism: p, Operator: func(int) (op.Operator, error) { return newFile(), nil }}
	does := fmt.Sprintf("write %s to %s", k.Kind, k.Path)
	if opts.Dir {
		does = fmt.Sprintf("write %s part files under %s", k.Kind, k.Path)
	}
	for _, pe := range k.PartitionBy {
		does += ", partitioned by " + pe.Text
	}
	b.addNode(n, KindSink, nil, does)
	b.plan.Outputs = append(b.plan.Outputs, Output{Sink: k.Name, Node: name, Kind: string(k.Kind), File: &opts, Schema: from.schema})
	b.connect(from, n, 0, follow(from, p))
	return nil
}

// s3Sink points the options of a file sink whose path is s3://bucket/prefix/ at the
// store: its part files are written under a local spool directory, uploaded by the
// checkpoint that pre-commits them and published when it commits.
func (b *builder) s3Sink(k *spec.Sink, opts *sink.FileOptions) error {
	store, err := objstore.Open(b.ctx, k.Path, s3Options(k.S3))
	if err != nil {
		return b.spec.Errorf("sinks."+k.Name+".path", "%v", err)
	}
	opts.Store, opts.Dir = store, true
	opts.Spool = filepath.Join(os.TempDir(), "millrace-spool", b.spec.Name, k.Name)
	return nil
}

// s3Options are the options of the store a spec's S3 settings reach.
func s3Options(s spec.S3) objstore.Options {
	opts := objstore.DefaultOptions()
	opts.Endpoint, opts.Region, opts.PathStyle = s.Endpoint, s.Region, s.PathStyle
	return opts
}

// partitionName names a partition directory key after its expression: the column, or the
// function applied (`date(window_end)` gives `date`).
func partitionName(e *expr.Expr, i int) string {
	switch n := e.Node().(type) {
	case *expr.Column:
		return n.Name
	case *expr.Call:
		return n.Name
	}
	return fmt.Sprintf("p%d", i)
}
