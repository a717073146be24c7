package plan

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/engine"
	"millrace/expr"
	"millrace/format"
	"millrace/gen"
	"millrace/nexmark"
	"millrace/source"
	"millrace/spec"
)

// check is a compiled source check; it keeps the text the spec wrote for dead letters.
type check struct {
	*expr.Expr
	text string
}

func (c check) String() string { return c.text }

// source adds a streaming source and its side streams. ctx covers asking brokers for their
// topics' partitions.
func (b *builder) source(ctx context.Context, src *spec.Source) error {
	s, err := src.ArrowSchema()
	if err != nil {
		return b.spec.Errorf("sources."+src.Name, "%v", err)
	}
	lake := src.Kind == spec.SourceLake && src.Lake.Then == ""
	parquetFiles := src.Kind == spec.SourceFile && src.Format == format.Parquet && src.Path != spec.Stdin
	if lake || parquetFiles {
		s = usedColumns(b.spec, src, s) // only the columns used are decoded
	}
	var checks []engine.Check
	for _, c := range src.Checks {
		e, err := compile(c, s)
		if err != nil {
			return err
		}
		if e.Type().ID() != arrow.BOOL {
			return c.Errorf("a check must be true or false, not %s", e.Type())
		}
		checks = append(checks, check{e, c.Text})
	}
	policy := engine.WatermarkPolicy{EventTime: -1, OutOfOrder: src.Watermark.Milliseconds(), IdleTimeout: src.IdleTimeout}
	if src.EventTime != "" {
		policy.EventTime = s.FieldIndices(src.EventTime)[0]
	}
	var impl source.Source
	var does string
	p := b.opts.Parallelism
	switch src.Kind {
	case spec.SourceFile:
		if src.Path == spec.Stdin {
			st, err := source.NewStream("stdin", b.opts.Stdin, src.Format, s, format.ReadOptions{Zone: src.Zone})
			if err != nil {
				return b.spec.Errorf("sources."+src.Name+".path", "%v", err)
			}
			impl, does, p = st, fmt.Sprintf("read %s from standard input, once (no checkpoints)", src.Format), 1
			break
		}
		f, err := source.NewFile(src.Path, src.Format, s, format.ReadOptions{FailOnDamage: src.OnError.Fails(), Zone: src.Zone})
		if err != nil {
			return b.spec.Errorf("sources."+src.Name+".path", "%v", err)
		}
		impl, does = f, fmt.Sprintf("read %d %s file(s) %s in %d partition(s)", len(f.Files()), src.Format, src.Path, f.Partitions())
		p = min(p, f.Partitions())
	case spec.SourceLake:
		l, what, err := b.lakeSource(ctx, src, s)
		if err != nil {
			return err
		}
		impl, does = l, what
		p = max(1, min(p, l.Partitions()))
		if src.Lake.Then != "" {
			t, what, err := b.thenSource(ctx, src, l)
			if err != nil {
				return err
			}
			impl, does = t, does+"; "+what
			p = min(b.opts.Parallelism, t.Partitions())
		}
	case spec.SourceGenerator:
		g := src.Generator
		cfg := gen.DefaultConfig()
		cfg.Rate, cfg.Rows, cfg.Duration, cfg.Seed, cfg.Speed = g.Rate, g.Rows, g.Duration, g.Seed, g.Speed
		cfg.FraudRate, cfg.Disorder, cfg.DupRate, cfg.LateRate, cfg.CorruptRate = g.FraudRate, g.Disorder, g.DupRate, g.LateRate, g.CorruptRate
		cfg.Surges, cfg.Partitions = g.Surges, g.Partitions
		cfg.ScenarioColumn = src.Schema == "transaction_scenario"
		if cfg.Partitions == 0 {
			cfg.Partitions = b.opts.Partitions
		}
		if cfg.CorruptRate > 0 {
			return b.spec.Errorf("sources."+src.Name+".corrupt_rate", "the generator source makes batches, not text, so it has no corrupt records; write a file with millrace gen and read it")
		}
		gs, err := source.NewGenerator(cfg)
		if err != nil {
			return b.spec.Errorf("sources."+src.Name, "%v", err)
		}
		impl, does = gs, fmt.Sprintf("generate transactions at %g/s in %d partition(s)", cfg.Rate, cfg.Partitions)
		p = min(p, cfg.Partitions)
	case spec.SourceNexmark:
		if src.EventTime != "date_time" {
			return b.spec.Errorf("sources."+src.Name+".event_time", "a nexmark source's event time is date_time")
		}
		if len(checks) > 0 {
			return b.spec.Errorf("sources."+src.Name+".checks", "a nexmark source makes valid events; it takes no checks")
		}
		kind, err := nexmark.ParseKind(src.Nexmark.Stream)
		if err != nil {
			return b.spec.Errorf("sources."+src.Name+".stream", "%v", err)
		}
		cfg := nexmark.DefaultConfig()
		cfg.Events, cfg.FirstEventRate, cfg.Seed, cfg.Partitions = src.Nexmark.Events, src.Nexmark.Rate, src.Nexmark.Seed, src.Nexmark.Partitions
		if cfg.Partitions == 0 {
			cfg.Partitions = b.opts.Partitions
		}
		if err := cfg.Validate(); err != nil {
			return b.spec.Errorf("sources."+src.Name, "%v", err)
		}
		impl, does = nexmark.NewSource(cfg, kind), fmt.Sprintf("generate the %s events of %d Nexmark events at %d/s in %d partition(s)", kind, cfg.Events, cfg.FirstEventRate, cfg.Partitions)
		p = min(p, cfg.Partitions)
	case spec.SourceKafka:
		ks, err := b.kafkaSource(ctx, src, s)
		if err != nil {
			return err
		}
		// What the step does names no broker: the cluster may move without changing what was read.
		impl, does = ks, fmt.Sprintf("read %s from Kafka topics %s, from %s where no checkpoint says, offsets committed to group %s",
			src.Format, ks.Describe(), startOf(src), ks.Group())
		p = min(p, ks.Partitions())
	case spec.SourceNATS:
		ns, does2, err := natsSource(b.spec.Name, src, s)
		if err != nil {
			return b.spec.Errorf("sources."+src.Name, "%v", err)
		}
		impl, does = ns, does2
		p = min(p, ns.Partitions())
	case spec.SourceHTTP:
		hs, what, err := httpSource(b.spec.Name, src, s, b.opts.IngestURL)
		if err != nil {
			return b.spec.Errorf("sources."+src.Name, "%v", err)
		}
		impl, does = hs, what
		p = min(p, hs.Partitions())
	default:
		return b.spec.Errorf("sources."+src.Name+".kind", "%s sources are not available yet", src.Kind)
	}
	n := &engine.Node{Name: src.Name, Parallelism: p, Source: impl, Watermarks: policy, Checks: checks, FailOnError: src.OnError.Fails()}
	detail := []string{does}
	if src.EventTime != "" {
		detail = append(detail, fmt.Sprintf("event time %s, watermark %s behind", src.EventTime, src.Watermark))
	}
	if src.Zone != nil {
		detail = append(detail, "timestamps without an offset are wall-clock times in "+src.Zone.String())
	}
	for _, c := range src.Checks {
		detail = append(detail, "check "+c.Text)
	}
	if src.OnError.Fails() {
		detail = append(detail, "a file that cannot be decoded fails the run")
	}
	b.addNode(n, KindSource, s, detail...)
	b.plan.Sources = append(b.plan.Sources, src.Name)
	b.streams[src.Name] = stream{node: n, port: engine.MainPort, schema: s}
	b.streams[src.Name+"."+spec.DeadLetters] = stream{node: n, port: engine.DeadLetterPort, schema: deadLetterSchema()}
	b.streams[src.Name+"."+spec.Late] = stream{node: n, port: engine.LatePort, schema: s}
	return nil
}

// compile parses and type-checks a spec expression, reporting errors at its key path.
func compile(e spec.Expr, s *arrow.Schema, opts ...expr.Option) (*expr.Expr, error) {
	n, err := expr.Parse(e.Text)
	if err != nil {
		return nil, e.Errorf("%v", err)
	}
	c, err := expr.Compile(n, s, opts...)
	if err != nil {
		return nil, e.Errorf("%v", err)
	}
	return c, nil
}
