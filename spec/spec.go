// Package spec reads pipeline specs: the YAML files that name a pipeline's sources, the views
// computed from them and the sinks their results go to (DESIGN.md §1).
//
// Parse decodes a spec strictly into the types of this package and checks its structure: every
// key is known, every value has the right type, required keys are present, names are
// identifiers, every `from:` names a source, a view or a source's side stream, join tables
// exist, and the views form a DAG. It applies the defaults (a file source's format from its
// path, a generator's event time and schema, a join's type, a sink's compression). It does not
// parse the SQL inside: expressions are kept as Expr, text plus position, for package expr.
//
// The keys, by section (a list key also takes a single value; durations are Go's, plus d):
//
//	name                 letters, digits, _ and -
//	sources.NAME         kind: generator | file | lake | http | kafka | nats | nexmark (required)
//	                     schema: transaction | columns: {col: TYPE [null | not null], ...}
//	                     event_time, watermark, idle_timeout, checks: [expr, ...],
//	                     redact: [column or field, ...] (masked where the API shows records),
//	                     timezone (of text timestamps without an offset; default UTC; not
//	                     for generator and nexmark sources)
//	  file               path (glob, or - for standard input; required), format (default: by
//	                     extension, jsonl for -), table: bool
//	  lake               path (a directory or s3://bucket/prefix; required), partitioning:
//	                     {col: TYPE, ...} (Hive directory levels, in order; string, int32,
//	                     int64 or date), endpoint, region, path_style: bool (S3; credentials
//	                     from the environment only), then: SOURCE (kafka or nats, read after
//	                     the lake) with switch_at: RFC 3339 time (where the lake hands over;
//	                     default just after the lake's greatest event time)
//	  http               path (URL path, default /ingest/NAME), format (jsonl: NDJSON or a JSON
//	                     array), max_backlog (records not yet acknowledged; default 1000000),
//	                     max_body (size after gzip, such as 16MiB; the default)
//	  kafka              brokers (required), topic (one or a list) | topic_regex, group,
//	                     start: earliest | latest | RFC 3339 time, format: jsonl | csv | avro
//	                     (default jsonl), registry (URL, for avro),
//	                     tls: {ca, cert, key, insecure_skip_verify},
//	                     sasl: {mechanism: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512, username,
//	                     password: ${VAR} | password_file};
//	                     columns may add _key, _partition, _offset, _timestamp, _headers
//	  nats               url, stream (both required), subject, partitions (subjects
//	                     SUBJECT.0..N-1), durable, start: earliest | latest | RFC 3339 time,
//	                     credentials, user, password, password_file, tls: {ca, cert, key},
//	                     format (default jsonl)
//	  generator          rate, rows, duration, seed, speed, fraud_rate, disorder, dup_rate,
//	                     late_rate, corrupt_rate, surges: [03:00x10, +5mx3/10m], partitions;
//	                     schema: transaction (default) | transaction_scenario (adds
//	                     fraud_scenario, each fraud row's scenario)
//	  nexmark            stream: bid | auction | person (default bid), events (required), rate,
//	                     seed, partitions; the schema is the stream's, event time date_time
//	views.NAME           from (required: a stream or a list, unioned), where, select: {col: expr},
//	                     group_by, window: {tumble: D} | {hop: D, every: D} | {session: D}
//	                     (without window, group_by or aggregates over bounded sources give
//	                     one table of the whole input, emitted when it ends; over a
//	                     changelog, the table it makes, -U and -D taking rows back, with
//	                     count, count_if, sum, avg, min and max),
//	                     having (needs group_by or window); aggregates in select and
//	                     having may end with FILTER (WHERE cond), and count(DISTINCT x)
//	                     (count_distinct(x)) is exact,
//	                     qualify: COL = max(COL) (keeps each window's rows of the largest COL;
//	                     with window: {tumble: D} over raw rows, or without window over a
//	                     window view; not with group_by, having or aggregates),
//	                     join: {table: SOURCE, on: col | [col, ...], type: left | inner}
//	                     | {stream: STREAM, on: ..., within: [D, D] (right time minus the
//	                     input's, inclusive; may be negative), type: inner | left | right | full}
//	                     (within: [D, COLUMN]: the right time at most the input row's
//	                     timestamp COLUMN; inner or right)
//	                     | {stream: ..., on: ..., window: {tumble: D} | {hop: D, every: D}, type}
//	                     (rows of one window; adds window_start, window_end)
//	                     | {stream: ..., on: ..., ttl: D} (inner; rows kept D of event time)
//	                     | {stream: ..., on: ..., as_of: true, type: inner | left} (the
//	                     stream's rows are versions of a table by key; each row joins the
//	                     version valid at its event time),
//	                     dedup: {key: col | [col, ...], within: D, keep: first | last},
//	                     over: {key: col | [col, ...], range: D | rows: N, ttl: D} (adds to
//	                     every row features of its key's earlier rows in event-time order;
//	                     select then holds feature calls: count(*), count_if, sum, avg,
//	                     count_distinct over (t - range, t] or the key's last N rows, the
//	                     row included; zscore, first_seen, seconds_since_prev,
//	                     km_from_prev, kmh_from_prev over the key's history; not with
//	                     group_by, window, having or qualify),
//	                     score: {model: PATH, kind: xgboost | lightgbm, features: [expr, ...],
//	                     as: COL (default score)} (a model's score of every row, after select),
//	                     rules: {file: PATH} (alert rows: the rows matching a rule, with rule,
//	                     severity, reason, rules_version; see docs/fraud.md); both reload
//	                     their file when it changes and take no group_by, window or qualify
//	sinks.NAME           from (required, one stream), kind: parquet | jsonl | csv | stdout | kafka
//	                     | nats | view (a changelog's table kept in memory while the run goes
//	                     on, read at /api/views/NAME; no other keys), path (file kinds; a
//	                     directory of part files in a cluster; s3://bucket/prefix/ for part
//	                     files in S3, with endpoint, region,
//	                     path_style), partition_by, compression, format (stdout, nats: jsonl | csv),
//	                     overwrite: bool (replace what millrace did not write), redact: bool
//	                     (dead-letter sinks: mask records as the API does)
//	  kafka              brokers, topic (both required), tls, sasl (as for kafka sources),
//	                     key: expr, headers: {name: expr},
//	                     delivery: exactly_once (default) | at_least_once | none,
//	                     commit: checkpoint (default) | batch (exactly once: a transaction
//	                     per batch, visible at once; not in a cluster),
//	                     create: {partitions: N} (else the topic must exist),
//	                     format: json (default) | avro (needs registry: URL),
//	                     mode: append (default) | upsert (a changelog as a table by key in a
//	                     compacted topic: no key, JSON values, tombstones for deletes)
//	  nats               url, subject (both required), subject_by: expr (a last subject token
//	                     per row), and the connection keys of nats sources
//
// Relative paths are relative to the working directory. A relative sink path that climbs
// out of it is an error (an absolute path says it on purpose), and so is a sink path in a
// system directory (/etc, /usr, ...).
//
// A stream is a source, a view, or a source's side stream: SOURCE.dead_letters (records it
// refused) or SOURCE.late (records behind the watermark; only sources with event_time). Sources
// and views share one namespace; sinks have their own.
//
// Scalar values may use environment variables: ${VAR}, ${VAR:-default} (used when VAR is unset
// or empty; the default may itself hold variables) and $$ for a literal dollar. A variable that
// is unset and has no default is an error.
//
// Every problem is reported as one self-contained line,
//
//	FILE:LINE: key.path: message
//
// for example `card-velocity.yaml:14: views.velocity.windw: unknown key (did you mean
// "window"?)`. Parse reports every structural problem it finds, sorted by line, as Errors;
// errors.Is(err, ErrInvalid) tells a spec error from a failure to read the file.
package spec

import (
	"context"
	"fmt"
	"os"
	"time"

	"millrace/format"
	"millrace/gen"
	"millrace/nexmark"
	"millrace/schema"

	"github.com/apache/arrow-go/v18/arrow"
)

// Spec is a decoded and structurally valid pipeline. Sources, views and sinks keep the order
// the file gives them, so that everything derived from a spec is deterministic. A Spec from
// Parse looks its entries up by name in constant time; its lists are not to be changed.
type Spec struct {
	// Name names the pipeline; checkpoints live under it. Letters, digits, '_' and '-'.
	Name string
	// File is the file name given to Parse; every Pos of this spec carries it.
	File    string
	Sources []*Source
	Views   []*View
	Sinks   []*Sink

	// at holds the position of every key and list item decoded, by full key path.
	at map[string]Pos
	// byName indexes the entries by name for Parse's specs, so that looking one up does not
	// scan every entry; it is nil in a Spec built by hand, whose lookups scan.
	byName *names
}

// names indexes a spec's entries by name. Sources and views share a namespace, but both
// maps are kept because a name given to both is an error that must still be reported.
type names struct {
	sources map[string]*Source
	views   map[string]*View
	sinks   map[string]*Sink
}

// index builds the name index of s; of entries with the same name the first is kept, as the
// scans do.
func (s *Spec) index() {
	ix := &names{
		sources: make(map[string]*Source, len(s.Sources)),
		views:   make(map[string]*View, len(s.Views)),
		sinks:   make(map[string]*Sink, len(s.Sinks)),
	}
	for _, src := range s.Sources {
		if _, ok := ix.sources[src.Name]; !ok {
			ix.sources[src.Name] = src
		}
	}
	for _, v := range s.Views {
		if _, ok := ix.views[v.Name]; !ok {
			ix.views[v.Name] = v
		}
	}
	for _, k := range s.Sinks {
		if _, ok := ix.sinks[k.Name]; !ok {
			ix.sinks[k.Name] = k
		}
	}
	s.byName = ix
}

// SourceKind says where a source's records come from.
type SourceKind string

// The source kinds.
const (
	SourceGenerator SourceKind = "generator" // in-process transaction generator (package gen)
	SourceFile      SourceKind = "file"      // files matching a path or glob
	SourceHTTP      SourceKind = "http"      // records POSTed to the pipeline's HTTP server
	SourceKafka     SourceKind = "kafka"     // a Kafka topic, read in a consumer group
	SourceNATS      SourceKind = "nats"      // a NATS JetStream subject
	SourceNexmark   SourceKind = "nexmark"   // the in-process Nexmark event generator (package nexmark)
	SourceLake      SourceKind = "lake"      // a Parquet lake in a directory tree or an S3 prefix (package lake)
)

// SourceKinds lists the source kinds in the order messages show them.
var SourceKinds = []SourceKind{SourceGenerator, SourceFile, SourceLake, SourceHTTP, SourceKafka, SourceNATS, SourceNexmark}

// Source is one input of a pipeline.
type Source struct {
	Name string
	Kind SourceKind
	// Path is the file path or glob of a file source, or the URL path an http source accepts
	// records on (empty: the runner's default).
	Path string
	// Format is how records are encoded. For file sources it defaults to what the path's
	// extension says; for http, kafka and nats sources to jsonl. Generators have none.
	Format format.Kind
	// Schema names a built-in schema (see schema.Builtin); Columns declares one inline, in
	// order. Exactly one of them is set; a generator's schema is always "transaction". A
	// nexmark source sets neither: its schema is its stream's (nexmark.Schema).
	Schema  string
	Columns []schema.Column
	// Zone (timezone:) is the zone of JSONL and CSV timestamps written without an offset
	// (2026-03-02 00:00:01.494); nil means UTC.
	Zone *time.Location
	// EventTime names the timestamp column that drives windows and watermarks. Empty means
	// the source has no event time. A generator's defaults to "ts", a nexmark source's to
	// "date_time".
	EventTime string
	// Watermark is the allowed out-of-orderness: the watermark trails the largest event time
	// seen by this much. Zero means records arrive in order.
	Watermark time.Duration
	// IdleTimeout is how long a partition may stay silent before it stops holding the
	// watermark back; a subtask whose partitions are all silent has the clock, less
	// Watermark, as its watermark. Zero turns idleness detection off.
	IdleTimeout time.Duration
	// Checks are conditions every record must meet; a record that fails one goes to the
	// source's dead letters.
	Checks []Expr
	// Redact names the columns, and fields of raw records, whose values the API and the
	// dashboard mask: in dead letters, in hot keys and in the reasons they show.
	Redact []string
	// Table marks a lookup table: a file source read whole and joined by views, never
	// streamed. Parse sets it for every source that a view joins.
	Table bool
	// LiveOf names the lake source whose then: this source is: it is read after that
	// lake's history, as part of its stream. Parse sets it.
	LiveOf string
	// OnError says what a file that cannot be decoded past a point (a truncated .gz, a
	// damaged Parquet row group) does: by default it becomes a dead letter and the run goes
	// on; OnErrorFail fails the run.
	OnError OnError

	// Generator holds a generator source's settings.
	Generator Generator
	// Nexmark holds a nexmark source's settings.
	Nexmark Nexmark
	// Kafka holds a kafka source's settings.
	Kafka Kafka
	// NATS holds a nats source's settings.
	NATS NATS
	// HTTP holds an http source's settings.
	HTTP HTTP
	// Lake holds a lake source's settings; its Path is the lake's directory or
	// s3://bucket/prefix.
	Lake Lake

	// Pos is where the source's name stands in the file.
	Pos Pos
}

// ArrowSchema returns the schema of the source's records: the built-in one it names or the
// one its columns declare.
func (s *Source) ArrowSchema() (*arrow.Schema, error) {
	if s.Kind == SourceNexmark {
		k, err := nexmark.ParseKind(s.Nexmark.Stream)
		if err != nil {
			return nil, err
		}
		return nexmark.Schema(k), nil
	}
	var base *arrow.Schema
	var err error
	if s.Columns != nil {
		base, err = schema.Parse(s.Columns)
	} else {
		base, err = schema.Builtin(s.Schema)
	}
	if err != nil || len(s.Lake.Partitioning) == 0 {
		return base, err
	}
	parts, err := schema.Parse(s.Lake.Partitioning)
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(append(base.Fields(), parts.Fields()...), nil), nil
}

// Lake holds the settings of a lake source. Credentials come from the environment only
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or the shared credentials
// file), as package objstore reads them.
type Lake struct {
	// Partitioning lists the Hive partition columns in the order of the directory levels
	// (year=2026/month=03/...); they follow the schema's columns in the rows.
	Partitioning []schema.Column
	S3
	// Then names a live source (kafka or nats) that the lake goes on with: the lake's rows
	// before SwitchAt, then the live source's rows at or after it, as one stream with one
	// watermark. The live source is read only so, never as a stream of its own.
	Then string
	// SwitchAt is where the lake hands over; zero: just after the greatest event time the
	// lake's Parquet statistics give.
	SwitchAt time.Time
}

// S3 says how to reach the S3 server of a lake source or of a file sink whose path is
// s3://bucket/prefix. Credentials come from the environment only, as package objstore
// reads them.
type S3 struct {
	// Endpoint is the S3 server ("http://host:port", "https://host"); empty: the
	// environment's (MILLRACE_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL), else
	// Amazon S3.
	Endpoint string
	// Region is the bucket's region; empty: AWS_REGION, else the server is asked.
	Region string
	// PathStyle puts the bucket in the path of requests rather than in the host name.
	PathStyle bool
}

// Generator holds the settings of a generator source, with gen.DefaultConfig's values for
// those the spec leaves out, except that Rows and Duration default to zero: without them the
// stream never ends. The fields mean what the fields of gen.Config of the same name mean.
type Generator struct {
	Rate        float64 // mean records per second of event time
	Rows        int64   // total rows; 0 = no bound
	Duration    time.Duration
	Seed        int64
	Speed       float64 // 0 = as fast as possible; > 0 = paced, event time runs Speed times the clock
	FraudRate   float64
	Disorder    time.Duration
	DupRate     float64
	LateRate    float64
	CorruptRate float64
	Surges      []gen.Surge
	Partitions  int // 0 = one per subtask of the plan
}

// Nexmark holds the settings of a nexmark source: which stream of the Nexmark generator it
// reads and how many events the generator makes. The fields mean what the fields of
// nexmark.Config of the same name mean.
type Nexmark struct {
	Stream     string // bid, auction or person; default bid
	Events     int64  // events over all kinds; required
	Rate       int64  // first-event rate, events per second of event time
	Seed       int64
	Partitions int // 0 = one per subtask of the plan
}

// Kafka holds the settings of a kafka source.
type Kafka struct {
	Brokers    []string // seed brokers, host:port
	Topics     []string // the topics read, or
	TopicRegex string   // a regular expression matching the whole names of the topics read
	// Group is the consumer group the offsets of durable checkpoints are committed to;
	// empty means millrace.<pipeline>.<source>.
	Group    string
	Start    string // where partitions without a checkpointed offset start: earliest (default), latest or an RFC 3339 time
	Registry string // the schema registry's URL, for format avro
	TLS      *KafkaTLS
	SASL     *KafkaSASL
}

// HTTP holds the settings of an http source; zero means the default of package ingest.
type HTTP struct {
	MaxBacklog int64 // records stored and not yet acknowledged by the pipeline; past it, 429
	MaxBody    int64 // bytes of a request body after gzip; past it, 413
}

// View is a stream computed from other streams. Its clauses apply in SQL order: the inputs
// (From, a union when there are several), the lookup Join, Where, GroupBy and Window, Select,
// Having.
type View struct {
	Name string
	// From names the input streams: sources, views, or side streams such as tx.dead_letters.
	// Several inputs are unioned.
	From []string
	// Where filters input rows; zero means no filter.
	Where Expr
	// Select lists the output columns in order; empty means the input columns unchanged.
	Select []Field
	// GroupBy lists the grouping keys. A window without GroupBy has one global key.
	GroupBy []Expr
	// Window makes the view a windowed aggregation; nil means none.
	Window *Window
	// Having filters aggregated rows; it needs GroupBy or Window.
	Having Expr
	// Emit says when a view that aggregates without a Window emits: empty picks EmitFinal
	// over bounded inputs and EmitBatch over unbounded ones.
	Emit Emit
	// Top keeps per GroupBy key the first rows by a column, emitted as a changelog; nil
	// means none.
	Top *Top
	// Qualify, written `COL = max(COL)`, keeps per window the rows whose COL is the
	// window's largest: per tumbling Window of the input's event time, or without Window
	// per window_end of an input window view. Zero means none; it excludes GroupBy, Having
	// and aggregates in Select.
	Qualify Expr
	// Join looks every input row up in a table source, or joins the input with another
	// stream in an interval of event time; nil means no join.
	Join *Join
	// Dedup drops rows that repeat a key within an interval of event time; nil means none.
	Dedup *Dedup
	// Over makes the view add features from each key's earlier rows to every input row;
	// nil means none. It excludes GroupBy, Window, Having and Qualify.
	Over *Over
	// OnError says what a row whose expression fails at run time does: by default it goes
	// to the view's errors side stream (VIEW.errors) and the run goes on; OnErrorFail fails
	// the run.
	OnError OnError
	// Score appends a model's score to every row (after select); nil means none.
	Score *Score
	// Rules makes the view emit the rows that match a rule of a rules file (after select
	// and score); nil means none.
	Rules *Rules

	// Pos is where the view's name stands in the file.
	Pos Pos
}

// OnError is what a source or view does with input it cannot process: a damaged file, a row
// whose expression fails.
type OnError string

// The choices of on_error.
const (
	// OnErrorContinue, the default (also written as an empty OnError), sends what failed to
	// the side stream with the reason and goes on.
	OnErrorContinue OnError = "continue"
	// OnErrorFail fails the run with the error.
	OnErrorFail OnError = "fail"
)

// Fails reports whether the run fails on an error.
func (o OnError) Fails() bool { return o == OnErrorFail }

// Field is one output column of a view.
type Field struct {
	Name string
	Expr Expr
}

// WindowKind says how a window view cuts event time.
type WindowKind string

// The window kinds.
const (
	Tumble  WindowKind = "tumble"  // fixed windows of Size, back to back
	Hop     WindowKind = "hop"     // windows of Size starting every Every; they overlap
	Session WindowKind = "session" // per key, runs of events with gaps shorter than Gap
)

// Window says how a view groups rows in event time, as written `{tumble: 1m}`,
// `{hop: 10m, every: 1m}` or `{session: 30m}`. For Hop, Size is a multiple of Every and
// longer than it.
type Window struct {
	Kind  WindowKind
	Size  time.Duration // tumble and hop
	Every time.Duration // hop
	// Panes (hop, `panes: true`) folds each row once into its pane of Every and merges the
	// panes into the windows, instead of folding the row into each of its Size/Every windows.
	Panes bool
	Gap   time.Duration // session
	// Pos is where the window key stands in the file.
	Pos Pos
}

// JoinType says what a join does with a row that finds no partner.
type JoinType string

// The join types. A lookup join is left or inner; an interval join any of the four.
const (
	LeftJoin  JoinType = "left"  // keep the input's row; the other side's columns are null
	InnerJoin JoinType = "inner" // drop the row
	RightJoin JoinType = "right" // interval join: keep the other stream's rows that find none
	FullJoin  JoinType = "full"  // interval join: keep both sides' rows that find none
)

// Join is a lookup join of a view's input rows against a table source (Table), or an
// interval join of the view's input with another stream (Stream).
type Join struct {
	// Table names the table source of a lookup join.
	Table string
	// Stream names the source or view an interval join joins the input with: a row of the
	// input at time l and a row of Stream at r with equal keys join when r - l lies within
	// Within, both bounds included.
	Stream string
	Within [2]time.Duration
	// Until, when set, names a timestamp column of the input that bounds the interval from
	// above instead of Within[1]: a row of Stream joins an input row when r - l is at least
	// Within[0] and r is at most the input row's Until (Nexmark q9: the bids of an auction's
	// lifetime, `within: [0s, expires]`).
	Until string
	// Window, set instead of Within, joins the rows of equal keys that fall in one tumbling or
	// hopping window, once per window.
	Window *Window
	// TTL, set instead of Within, makes a regular inner join: rows of equal keys join when
	// their event times are at most TTL apart, and each row is kept TTL of event time.
	TTL time.Duration
	// AsOf, set instead of Within, makes a temporal join: Stream's rows are versions of a
	// table by the key, each valid from its event time, and an input row joins the version
	// valid at its own event time.
	AsOf bool
	// On lists the key columns, named alike in the input and the table or stream.
	On []string
	// Type defaults to LeftJoin for a lookup join and InnerJoin for an interval join.
	Type JoinType
	// Pos is where the join key stands in the file.
	Pos Pos
}

// SinkKind says where a sink writes.
type SinkKind string

// The sink kinds.
const (
	SinkParquet SinkKind = "parquet"
	SinkJSONL   SinkKind = "jsonl"
	SinkCSV     SinkKind = "csv"
	SinkStdout  SinkKind = "stdout"
	SinkKafka   SinkKind = "kafka"
	SinkNATS    SinkKind = "nats" // a NATS JetStream subject, exactly once
	SinkView    SinkKind = "view" // a changelog's table in memory, read over the HTTP API
)

// SinkKinds lists the sink kinds in the order messages show them.
var SinkKinds = []SinkKind{SinkParquet, SinkJSONL, SinkCSV, SinkStdout, SinkKafka, SinkNATS, SinkView}

// Sink writes one stream out.
type Sink struct {
	Name string
	// From names the stream written: a source, a view or a side stream.
	From string
	Kind SinkKind
	// Path is the file written, or the directory part files go to when it has no known
	// extension or the sink has PartitionBy. Stdout sinks have none.
	Path string
	// Format is how a stdout or nats sink encodes rows (jsonl by default, or csv); for file
	// sinks it equals the kind.
	Format format.Kind
	// PartitionBy lists expressions whose values name Hive-style partition directories.
	PartitionBy []Expr
	// Compression is the Parquet page codec (zstd by default, snappy or none) or the
	// whole-file codec of a jsonl or csv sink (gzip, zstd or none; by default what the path's
	// extension says). Stdout sinks have none.
	Compression string
	// Kafka holds the settings of a kafka sink, nil for other kinds.
	Kafka *KafkaSink
	// NATS holds a nats sink's settings.
	NATS NATSSink
	// Overwrite lets a file sink replace a file that millrace did not write, or write part
	// files into a directory that holds files it did not write.
	Overwrite bool
	// Redact masks the raw records and reasons of a dead-letter sink's rows as the API
	// does, with the redact list of the source whose dead letters it writes.
	Redact bool
	// S3 reaches the server of a file sink whose path is s3://bucket/prefix/: its part
	// files are uploaded by the checkpoint that pre-commits them and appear when it commits.
	S3 S3

	// Pos is where the sink's name stands in the file.
	Pos Pos
}

// The delivery modes of a kafka sink.
const (
	DeliveryExactlyOnce = "exactly_once"
	DeliveryAtLeastOnce = "at_least_once"
	DeliveryNone        = "none"
)

// The commit modes of an exactly-once kafka sink.
const (
	CommitCheckpoint = "checkpoint"
	CommitBatch      = "batch"
)

// KafkaSink holds the settings of a kafka sink.
type KafkaSink struct {
	Brokers []string // seed brokers, host:port
	TLS     *KafkaTLS
	SASL    *KafkaSASL
	Topic   string
	// Key computes each record's key; zero means records without keys.
	Key Expr
	// Headers compute each record's headers, in the order written.
	Headers []Field
	// Delivery is DeliveryExactlyOnce (the default), DeliveryAtLeastOnce or DeliveryNone.
	Delivery string
	// Commit is CommitCheckpoint (the default: a checkpoint's rows in one transaction once it
	// is durable) or CommitBatch (a transaction per batch as it arrives; a replay after a
	// crash drops what was committed).
	Commit string
	// Format is "json" (the default) or "avro", which needs Registry, the schema registry's
	// URL.
	Format   string
	Registry string
	// Partitions, from create: {partitions: N}, creates the topic when it does not exist;
	// 0 means it must exist.
	Partitions int32
	// Mode is SinkAppend (the default) or SinkUpsert.
	Mode string
}

// Expr is an SQL expression as written in the spec, not yet parsed, with where it stands so
// that later errors can point at it.
type Expr struct {
	// Text is the expression with environment variables expanded and surrounding space
	// trimmed.
	Text string
	// Path is the expression's key path, such as views.velocity.select.spend.
	Path string
	// Pos is where Text begins: inside the quotes of a quoted scalar, on the first content
	// line of a block scalar.
	Pos Pos
}

// IsZero reports whether the expression is absent.
func (e Expr) IsZero() bool { return e.Text == "" }

// Errorf returns an error about the expression at its position and key path.
func (e Expr) Errorf(format string, args ...any) *Error {
	return newError(e.Pos, e.Path, format, args...)
}

// Source returns the source with the given name, or nil.
func (s *Spec) Source(name string) *Source {
	if s.byName != nil {
		return s.byName.sources[name]
	}
	for _, src := range s.Sources {
		if src.Name == name {
			return src
		}
	}
	return nil
}

// View returns the view with the given name, or nil.
func (s *Spec) View(name string) *View {
	if s.byName != nil {
		return s.byName.views[name]
	}
	for _, v := range s.Views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Sink returns the sink with the given name, or nil.
func (s *Spec) Sink(name string) *Sink {
	if s.byName != nil {
		return s.byName.sinks[name]
	}
	for _, k := range s.Sinks {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// At returns where the value at a key path stands, such as "sources.tx.event_time" or
// "views.velocity.from[1]". For a path the file does not hold it returns the position of its
// nearest enclosing key, and finally a position with the file name alone.
func (s *Spec) At(path string) Pos {
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := s.at[p]; ok {
			return pos
		}
	}
	return Pos{File: s.File}
}

// Errorf returns an error at the position of a key path, as At finds it, for checks made
// after Parse (the planner's): s.Errorf("sources.tx.event_time", "unknown column %q", c).
func (s *Spec) Errorf(path, format string, args ...any) *Error {
	return newError(s.At(path), path, format, args...)
}

// Parse decodes and checks a pipeline spec. file names the spec in positions and errors;
// env looks up environment variables (nil: none is set). Problems with the spec are returned
// as Errors, which matches ErrInvalid.
func Parse(data []byte, file string, env func(string) (string, bool)) (*Spec, error) {
	return ParseContext(context.Background(), data, file, env)
}

// ParseContext is Parse that gives up when ctx ends: between entries of the spec, once the
// YAML is read, it returns ctx's error.
func ParseContext(ctx context.Context, data []byte, file string, env func(string) (string, bool)) (*Spec, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	d := newDecoder(ctx, data, file, env)
	s := d.spec()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("spec: parse %s: %w", file, err)
	}
	if s != nil {
		s.index()
		d.validate(s)
	}
	if err := d.errs.sorted(); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads the spec file at path and parses it with the process environment.
func Load(path string) (*Spec, error) {
	return LoadContext(context.Background(), path)
}

// LoadContext is Load that gives up when ctx ends, as ParseContext does.
func LoadContext(ctx context.Context, path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: read pipeline spec: %w", err)
	}
	return ParseContext(ctx, data, path, os.LookupEnv)
}
