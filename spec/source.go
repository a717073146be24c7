package spec

import (
	"millrace/spelling"
	"regexp"
	"slices"
	"strings"
	"time"

	"millrace/format"
	"millrace/gen"
	"millrace/memlimit"
	"millrace/nexmark"
	"millrace/schema"

	"github.com/apache/arrow-go/v18/arrow"

	"go.yaml.in/yaml/v3"
)

// source decodes the source called name, whose name key is key and settings val.
func (d *decoder) source(name string, key, val *yaml.Node, path string) *Source {
	src := &Source{Name: name, Pos: d.pos(key)}
	pairs, ok := d.mapping(val, path, "a mapping of source settings, such as {kind: file, path: data/tx.jsonl, schema: transaction}")
	if !ok {
		return nil
	}
	kindOf, rest := splitKind(d, key, path, "source", pairs, SourceKinds)
	src.Kind = kindOf
	kind := string(kindOf)
	switch src.Kind {
	case SourceGenerator:
		src.Generator = defaultGenerator()
	case SourceNexmark:
		c := nexmark.DefaultConfig()
		src.Nexmark = Nexmark{Stream: "bid", Rate: c.FirstEventRate, Seed: c.Seed}
	}
	decodeFields(d, src, rest, path, sourceFields, kind, "source")

	has := make(map[string]*yaml.Node, len(pairs))
	for _, p := range pairs {
		has[p.key] = p.keyNode
	}
	d.finishSource(src, key, path, has)
	return src
}

// defaultGenerator returns the generator settings a spec starts from: gen's defaults, but
// without a bound on rows, since a generator source is a stream.
func defaultGenerator() Generator {
	c := gen.DefaultConfig()
	return Generator{
		Rate:        c.Rate,
		Seed:        c.Seed,
		Speed:       c.Speed,
		FraudRate:   c.FraudRate,
		Disorder:    c.Disorder,
		DupRate:     c.DupRate,
		LateRate:    c.LateRate,
		CorruptRate: c.CorruptRate,
		Partitions:  0, // the plan's parallelism
	}
}

// finishSource applies the defaults and the checks that involve several keys of a source;
// has maps each key the source gives to its key node.
func (d *decoder) finishSource(src *Source, key *yaml.Node, path string, has map[string]*yaml.Node) {
	at := func(k string) (*yaml.Node, string) { return has[k], joinPath(path, k) }

	// Schema.
	switch {
	case src.Kind == SourceGenerator && has["columns"] != nil:
		n, p := at("columns")
		d.errorf(n, p, "a generator makes transaction records; it takes no columns")
		src.Columns = nil
	case src.Kind == SourceNexmark && (has["columns"] != nil || has["schema"] != nil):
		k := "columns"
		if has["schema"] != nil {
			k = "schema"
		}
		n, p := at(k)
		d.errorf(n, p, "a nexmark source's schema is its stream's; it takes no %s", k)
		src.Columns, src.Schema = nil, ""
	case src.Kind == SourceNexmark:
	case src.Kind == SourceGenerator:
		if src.Schema != "" && src.Schema != "transaction" && src.Schema != "transaction_scenario" {
			n, p := at("schema")
			d.errorf(n, p, "a generator makes transaction records; schema must be transaction, or transaction_scenario to add the fraud_scenario column")
		}
		if src.Schema == "" {
			src.Schema = "transaction"
		}
	case has["schema"] != nil && has["columns"] != nil:
		n, p := at("columns")
		d.errorf(n, p, "give schema or columns, not both")
	case has["schema"] == nil && has["columns"] == nil && src.Kind != "":
		d.errorf(key, path, "schema or columns is required: a built-in schema (schema: transaction) or inline columns ({name: type, ...})")
	}

	// Where records come from, and how they are encoded.
	switch src.Kind {
	case SourceFile:
		d.fileFormat(src, has, path)
	case SourceHTTP, SourceKafka, SourceNATS:
		switch src.Format {
		case "":
			src.Format = format.JSONL
		case format.Parquet:
			n, p := at("format")
			if src.Kind == SourceKafka {
				d.errorf(n, p, "kafka messages are jsonl, csv or avro; parquet is for files")
			} else {
				d.errorf(n, p, "%s messages are jsonl or csv; parquet is for files", src.Kind)
			}
		}
	}
	required := map[SourceKind][]string{
		SourceFile:    {"path"},
		SourceLake:    {"path"},
		SourceKafka:   {"brokers"},
		SourceNATS:    {"url", "stream"},
		SourceNexmark: {"events"},
	}
	for _, k := range required[src.Kind] {
		if has[k] == nil {
			d.errorf(key, path, "%s is required for a %s source", k, src.Kind)
		}
	}
	if src.Kind == SourceKafka {
		d.finishKafka(src, key, path, has)
	}
	if src.Kind == SourceLake {
		d.finishLake(src, path, has)
	}

	// Event time.
	if src.Kind == SourceGenerator && src.EventTime == "" && has["event_time"] == nil {
		src.EventTime = "ts"
	}
	if src.Kind == SourceNexmark && src.EventTime == "" && has["event_time"] == nil {
		src.EventTime = "date_time"
	}
	if src.Table {
		if n := has["event_time"]; n != nil {
			d.errorf(n, joinPath(path, "event_time"), "a table source has no event time; remove event_time or table: true")
		}
	}
	if src.EventTime == "" && has["event_time"] == nil {
		for _, k := range []string{"watermark", "idle_timeout"} {
			if n := has[k]; n != nil {
				d.errorf(n, joinPath(path, k), "needs event_time: %s is about event time", k)
			}
		}
	}
	if src.EventTime != "" && (has["schema"] == nil || has["columns"] == nil) {
		d.eventTimeColumn(src, has["event_time"], joinPath(path, "event_time"))
	}
}

// Stdin is the path of a file source that reads standard input.
const Stdin = "-"

// fileFormat settles a file source's format: as given, or what its path's extension says;
// standard input is jsonl unless format says csv.
func (d *decoder) fileFormat(src *Source, has map[string]*yaml.Node, path string) {
	if src.Path == "" {
		return
	}
	if src.Path == Stdin {
		switch src.Format {
		case "":
			src.Format = format.JSONL
		case format.Parquet:
			d.errorf(has["format"], joinPath(path, "format"), "path - reads standard input as a stream, and parquet needs a file to seek in: write it to a file, or send jsonl or csv")
		}
		return
	}
	detected, _, err := format.Detect(src.Path)
	switch {
	case src.Format == "" && err != nil && has["format"] == nil:
		d.errorf(has["path"], joinPath(path, "path"), "cannot tell the format of %q from its name; add format: jsonl, csv or parquet", src.Path)
	case src.Format == "":
		src.Format = detected
	case err == nil && detected != src.Format:
		d.errorf(has["format"], joinPath(path, "format"), "format is %s but path %q names %s files", src.Format, src.Path, detected)
	}
}

// eventTimeColumn checks that the event time column exists and is a timestamp, when the
// source's schema is known.
func (d *decoder) eventTimeColumn(src *Source, n *yaml.Node, path string) {
	if src.Kind != SourceNexmark && src.Schema == "" && src.Columns == nil {
		return
	}
	s, err := src.ArrowSchema()
	if err != nil {
		return // reported where the schema is declared
	}
	i := s.FieldIndices(src.EventTime)
	if len(i) == 0 {
		names := make([]string, s.NumFields())
		for j, f := range s.Fields() {
			names[j] = f.Name
		}
		if hint := spelling.DidYouMean(src.EventTime, names); hint != "" {
			d.errorf(n, path, "unknown column %q%s", src.EventTime, hint)
		} else {
			d.errorf(n, path, "unknown column %q (columns: %s)", src.EventTime, strings.Join(names, ", "))
		}
		return
	}
	if t := s.Field(i[0]).Type; t.ID() != arrow.TIMESTAMP {
		d.errorf(n, path, "column %q is %s, not a timestamp", src.EventTime, t)
	}
}

// sourceFields are the keys of a source other than kind.
var sourceFields = withFields(map[string]field[Source]{
	"path": {only: kinds(SourceFile, SourceLake, SourceHTTP), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		want := "a file path or glob"
		switch s.Kind {
		case SourceHTTP:
			want = "a URL path"
		case SourceLake:
			want = "a directory or s3://bucket/prefix"
		}
		if v, ok := d.str(n, p, want); ok {
			if s.Kind == SourceHTTP && !strings.HasPrefix(v, "/") {
				d.errorf(n, p, "%q is not a URL path: it must start with /", v)
				return
			}
			s.Path = v
		}
	}},
	"format": {only: kinds(SourceFile, SourceHTTP, SourceKafka, SourceNATS), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "a format (jsonl, csv or parquet)"); ok {
			if v == string(FormatAvro) && s.Kind == SourceKafka {
				s.Format = FormatAvro
				return
			}
			k, err := format.ParseKind(v)
			if err != nil {
				d.errorf(n, p, "%v", err)
				return
			}
			s.Format = k
		}
	}},
	"schema": {set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "a built-in schema name"); ok {
			if _, err := schema.Builtin(v); err != nil {
				d.errorf(n, p, "%s", strings.TrimPrefix(err.Error(), "schema: "))
				return
			}
			s.Schema = v
		}
	}},
	"columns": {set: (*decoder).columns},
	"timezone": {only: kinds(SourceFile, SourceKafka, SourceNATS, SourceHTTP), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Zone = d.zone(n, p)
	}},
	"event_time": {set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.EventTime, _ = d.ident(n, p, "a column name")
	}},
	"watermark": {set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Watermark, _ = d.duration(n, p)
	}},
	"idle_timeout": {set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.IdleTimeout, _ = d.duration(n, p)
	}},
	"checks": {set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Checks = d.exprs(n, p, "a list of conditions")
	}},
	"redact": {set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		items, ok := d.list(n, p, "a list of column or field names, such as [card_number, cvv]")
		if !ok {
			return
		}
		for _, it := range items {
			if v, ok := d.str(it.node, it.path, "a column or field name"); ok {
				s.Redact = append(s.Redact, v)
			}
		}
	}},
	"table": {only: kinds(SourceFile), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Table, _ = d.boolean(n, p)
	}},
	"on_error": {only: kinds(SourceFile, SourceLake), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.OnError = d.onError(n, p)
	}},

	"rate": {only: generated, set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if s.Kind == SourceNexmark {
			if v, ok := d.integer(n, p); ok {
				if v <= 0 {
					d.errorf(n, p, "must be a positive number of events per second, not %d", v)
					return
				}
				s.Nexmark.Rate = v
			}
			return
		}
		if v, ok := d.number(n, p); ok {
			if v <= 0 {
				d.errorf(n, p, "must be a positive number of records per second, not %g", v)
				return
			}
			s.Generator.Rate = v
		}
	}},
	"rows": {only: generatorOnly, set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.integer(n, p); ok {
			if v < 0 {
				d.errorf(n, p, "must not be negative, not %d", v)
				return
			}
			s.Generator.Rows = v
		}
	}},
	"duration": {only: generatorOnly, set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Generator.Duration, _ = d.duration(n, p)
	}},
	"seed": {only: generated, set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.integer(n, p); ok {
			s.Generator.Seed, s.Nexmark.Seed = v, v
		}
	}},
	"speed": {only: generatorOnly, set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.number(n, p); ok {
			if v < 0 {
				d.errorf(n, p, "must be 0 (as fast as possible) or a positive time factor, not %g", v)
				return
			}
			s.Generator.Speed = v
		}
	}},
	"fraud_rate":   {only: generatorOnly, set: fraction(0.5, func(s *Source) *float64 { return &s.Generator.FraudRate })},
	"dup_rate":     {only: generatorOnly, set: fraction(1, func(s *Source) *float64 { return &s.Generator.DupRate })},
	"late_rate":    {only: generatorOnly, set: fraction(1, func(s *Source) *float64 { return &s.Generator.LateRate })},
	"corrupt_rate": {only: generatorOnly, set: fraction(1, func(s *Source) *float64 { return &s.Generator.CorruptRate })},
	"disorder": {only: generatorOnly, set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Generator.Disorder, _ = d.duration(n, p)
	}},
	"surges": {only: generatorOnly, set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a list of surges such as 03:00x10 or +5mx3/10m")
		for _, it := range items {
			v, ok := d.str(it.node, it.path, "a surge such as 03:00x10 or +5mx3/10m")
			if !ok {
				continue
			}
			if strings.Contains(v, ",") {
				d.errorf(it.node, it.path, "one surge per item: write a list, as in [03:00x10, +5mx3/10m]")
				continue
			}
			surges, err := gen.ParseSurges(v, gen.DefaultSurgeFor)
			if err != nil {
				d.errorf(it.node, it.path, "%s", strings.TrimPrefix(err.Error(), "gen: "))
				continue
			}
			s.Generator.Surges = append(s.Generator.Surges, surges...)
		}
	}},
	"partitions": {only: kinds(SourceGenerator, SourceNexmark, SourceNATS), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.integer(n, p); ok {
			if v < 0 || v > maxPartitions || v == 0 && s.Kind != SourceNexmark {
				d.errorf(n, p, "must be between 1 and %d, not %d", maxPartitions, v)
				return
			}
			switch s.Kind {
			case SourceNATS:
				s.NATS.Partitions = int(v)
			case SourceNexmark:
				s.Nexmark.Partitions = int(v)
			default:
				s.Generator.Partitions = int(v)
			}
		}
	}},
	"stream": {only: kinds(SourceNexmark, SourceNATS), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if s.Kind == SourceNATS {
			s.NATS.Stream, _ = d.str(n, p, "a JetStream stream name")
			return
		}
		if v, ok := d.str(n, p, "a Nexmark stream: bid, auction or person"); ok {
			if _, err := nexmark.ParseKind(v); err != nil {
				d.errorf(n, p, "unknown stream %q (want bid, auction or person)", v)
				return
			}
			s.Nexmark.Stream = v
		}
	}},
	"events": {only: kinds(SourceNexmark), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.integer(n, p); ok {
			if v <= 0 {
				d.errorf(n, p, "must be a positive number of events, not %d", v)
				return
			}
			s.Nexmark.Events = v
		}
	}},

	"brokers": {only: kinds(SourceKafka), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a list of host:port addresses")
		for _, it := range items {
			if v, ok := d.str(it.node, it.path, "a host:port address"); ok {
				s.Kafka.Brokers = append(s.Kafka.Brokers, v)
			}
		}
	}},
	"topic": {only: kinds(SourceKafka), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		items, _ := d.list(n, p, "a topic name or a list of them")
		for _, it := range items {
			if v, ok := d.str(it.node, it.path, "a topic name"); ok {
				s.Kafka.Topics = append(s.Kafka.Topics, v)
			}
		}
	}},
	"topic_regex": {only: kinds(SourceKafka), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "a regular expression"); ok {
			if _, err := regexp.Compile(v); err != nil {
				d.errorf(n, p, "%v", err)
				return
			}
			s.Kafka.TopicRegex = v
		}
	}},
	"group": {only: kinds(SourceKafka), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Kafka.Group, _ = d.str(n, p, "a consumer group name")
	}},
	"start": {only: kinds(SourceKafka, SourceNATS), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if s.Kind == SourceNATS {
			s.NATS.Start = d.kafkaStart(n, p)
			return
		}
		s.Kafka.Start = d.kafkaStart(n, p)
	}},
	"registry": {only: kinds(SourceKafka), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Kafka.Registry, _ = d.str(n, p, "a schema registry URL")
	}},
	"tls": {only: kinds(SourceKafka, SourceNATS), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if s.Kind == SourceNATS {
			s.NATS.TLS = d.natsTLS(n, p)
			return
		}
		s.Kafka.TLS = d.kafkaTLS(n, p)
	}},
	"sasl": {only: kinds(SourceKafka), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Kafka.SASL = d.kafkaSASL(n, p)
	}},
	"subject": {only: kinds(SourceNATS), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.NATS.Subject, _ = d.str(n, p, "a subject")
	}},

	"partitioning": {only: kinds(SourceLake), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		var cols Source
		d.columns(&cols, n, p)
		for _, c := range cols.Columns {
			if typ, _ := columnType(c.Type); !partitionType(typ) {
				d.errorf(n, joinPath(p, c.Name), "a partition column is string, int32, int64 or date, not %s", c.Type)
				return
			}
			c.Nullable = true // a directory may say NULL (__HIVE_DEFAULT_PARTITION__)
			s.Lake.Partitioning = append(s.Lake.Partitioning, c)
		}
	}},
	"endpoint": {only: kinds(SourceLake), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Lake.Endpoint, _ = d.str(n, p, "an S3 endpoint such as http://host:port")
	}},
	"region": {only: kinds(SourceLake), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Lake.Region, _ = d.str(n, p, "an S3 region such as eu-west-1")
	}},
	"path_style": {only: kinds(SourceLake), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Lake.PathStyle, _ = d.boolean(n, p)
	}},
	"then": {only: kinds(SourceLake), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		s.Lake.Then, _ = d.ident(n, p, "a kafka or nats source name")
	}},
	"switch_at": {only: kinds(SourceLake), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "an RFC 3339 time such as 2026-03-01T00:00:00Z"); ok {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				d.errorf(n, p, "%q is not an RFC 3339 time such as 2026-03-01T00:00:00Z", v)
				return
			}
			s.Lake.SwitchAt = t
		}
	}},

	"max_backlog": {only: kinds(SourceHTTP), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.integer(n, p); ok {
			if v <= 0 {
				d.errorf(n, p, "must be a positive number of records, not %d", v)
				return
			}
			s.HTTP.MaxBacklog = v
		}
	}},
	"max_body": {only: kinds(SourceHTTP), set: func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.str(n, p, "a size such as 16MiB"); ok {
			b, err := memlimit.Parse(v)
			if err != nil {
				d.errorf(n, p, "%v", err)
				return
			}
			if b <= 0 {
				d.errorf(n, p, "must be a positive size")
				return
			}
			s.HTTP.MaxBody = b
		}
	}},
}, natsSourceFields, natsConnFields(kinds(SourceNATS), func(s *Source) *NATSConn { return &s.NATS.NATSConn }))

// generatorOnly marks the keys only generator sources take.
var generatorOnly = kinds(SourceGenerator)

// generated marks the keys both generator and nexmark sources take.
var generated = kinds(SourceGenerator, SourceNexmark)

// maxPartitions bounds a generator's partitions.
const maxPartitions = 4096

// fraction returns a setter for a rate between 0 and hi.
func fraction(hi float64, dst func(*Source) *float64) func(*decoder, *Source, *yaml.Node, string) {
	return func(d *decoder, s *Source, n *yaml.Node, p string) {
		if v, ok := d.number(n, p); ok {
			if v < 0 || v > hi {
				d.errorf(n, p, "must be between 0 and %g, not %g", hi, v)
				return
			}
			*dst(s) = v
		}
	}
}

// columns decodes an inline schema, `{name: type, ...}` in order. A type may end in "null"
// to make the column nullable, or "not null" (the default): a record without a value for a
// column that is not nullable is a dead letter.
func (d *decoder) columns(s *Source, n *yaml.Node, path string) {
	pairs, ok := d.mapping(n, path, "a mapping of column names to types, such as {id: string, amount: decimal(18,2)}")
	if !ok {
		return
	}
	if len(pairs) == 0 {
		d.errorf(n, path, "is empty; declare at least one column")
		return
	}
	cols := make([]schema.Column, 0, len(pairs))
	flow := deref(n).Style&yaml.FlowStyle != 0
	cut := false // the previous type was cut at a comma by flow syntax
	for _, p := range pairs {
		if cut && strings.HasSuffix(p.key, ")") {
			cut = false // the rest of that type, taken for a key: reported already
			continue
		}
		cut = false
		if !isIdent(p.key) {
			d.errorf(p.keyNode, p.path, "%q is not a valid column name: use %s", p.key, identRule)
			continue
		}
		v, ok := d.str(p.val, p.path, "a column type such as string, int64 or decimal(18,2)")
		if !ok {
			continue
		}
		typ, nullable := columnType(v)
		if flow && strings.Contains(typ, "(") && !strings.Contains(typ, ")") {
			d.errorf(p.val, p.path, "type %q is cut at a comma: inside {...} quote it, as in %q", typ, typ+",2)")
			cut = true
			continue
		}
		if _, err := schema.ParseType(typ); err != nil {
			hint := ""
			if !strings.HasPrefix(strings.ToLower(typ), "decimal") {
				hint = spelling.DidYouMean(strings.ToLower(typ), schema.TypeNames)
			}
			if hint != "" {
				d.errorf(p.val, p.path, "unknown type %q%s", typ, hint)
			} else {
				d.errorf(p.val, p.path, "%v", err)
			}
			continue
		}
		cols = append(cols, schema.Column{Name: p.key, Type: typ, Nullable: nullable})
	}
	if len(cols) == len(pairs) { // otherwise the schema is unknown, and left out
		s.Columns = slices.Clip(cols)
	}
}

// columnType splits a declared type such as "float64 null" into the type and nullability.
func columnType(decl string) (typ string, nullable bool) {
	t := strings.TrimSpace(decl)
	lower := strings.ToLower(t)
	if strings.HasSuffix(lower, " not null") {
		return strings.TrimSpace(t[:len(t)-len(" not null")]), false
	}
	if strings.HasSuffix(lower, " null") {
		return strings.TrimSpace(t[:len(t)-len(" null")]), true
	}
	return t, false
}
