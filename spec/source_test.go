package spec

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"millrace/format"
	"millrace/gen"
	"millrace/nexmark"
	"millrace/schema"
)

func TestSourceDefaults(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  jl: {kind: file, path: "data/*.jsonl.gz", schema: transaction}
  cs: {kind: file, path: data/tx.csv, schema: transaction}
  pq: {kind: file, path: data/tx.pq, schema: transaction}
  dir: {kind: file, path: data/tx/, format: parquet, schema: transaction}
  ndj: {kind: file, path: data/tx.ndjson, format: json, schema: transaction}
  gen: {kind: generator}
  k: {kind: kafka, brokers: "k:9092", topic: t, schema: transaction}
  h: {kind: http, schema: transaction}
`)
	formats := map[string]format.Kind{"jl": format.JSONL, "cs": format.CSV, "pq": format.Parquet, "dir": format.Parquet, "ndj": format.JSONL, "gen": "", "k": format.JSONL, "h": format.JSONL}
	for name, want := range formats {
		if got := s.Source(name).Format; got != want {
			t.Errorf("%s: format = %q, want %q", name, got, want)
		}
	}
	g := s.Source("gen")
	if g.Schema != "transaction" || g.EventTime != "ts" || g.Watermark != 0 || g.IdleTimeout != 0 {
		t.Errorf("generator source = %+v", g)
	}
	c := gen.DefaultConfig()
	want := Generator{Rate: c.Rate, Seed: c.Seed, FraudRate: c.FraudRate} // Partitions 0: one per subtask
	if !reflect.DeepEqual(g.Generator, want) {
		t.Errorf("generator defaults = %+v, want %+v", g.Generator, want)
	}
	if k := s.Source("k"); !reflect.DeepEqual(k.Kafka, Kafka{Brokers: []string{"k:9092"}, Topics: []string{"t"}}) {
		t.Errorf("kafka = %+v", k.Kafka)
	}
	if s.Source("jl").Table || s.Source("jl").EventTime != "" {
		t.Error("a file source is neither a table nor timed unless it says so")
	}
}

func TestGeneratorSettings(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  g:
    kind: generator
    rate: 5000
    rows: 1000000
    duration: 2h
    seed: 0
    speed: 0
    fraud_rate: 0
    disorder: 500ms
    dup_rate: 1
    late_rate: 0.25
    corrupt_rate: 0.5
    surges: "+1hx4/5m"
    partitions: 8
    event_time: ts
`)
	want := Generator{
		Rate: 5000, Rows: 1_000_000, Duration: 2 * time.Hour, Seed: 0, Speed: 0, FraudRate: 0,
		Disorder: 500 * time.Millisecond, DupRate: 1, LateRate: 0.25, CorruptRate: 0.5,
		Surges:     []gen.Surge{{At: time.Hour, Relative: true, For: 5 * time.Minute, Factor: 4}},
		Partitions: 8,
	}
	if got := s.Source("g").Generator; !reflect.DeepEqual(got, want) {
		t.Errorf("generator = %+v\nwant %+v", got, want)
	}
}

func TestNexmarkSettings(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  bids: {kind: nexmark, events: 1000}
  people: {kind: nexmark, stream: person, events: 50, rate: 500, seed: 7, partitions: 3}
views:
  q7: {from: bids, window: {tumble: 10s}, qualify: price = max(price)}
`)
	c := nexmark.DefaultConfig()
	b := s.Source("bids")
	if want := (Nexmark{Stream: "bid", Events: 1000, Rate: c.FirstEventRate, Seed: c.Seed}); b.Nexmark != want || b.EventTime != "date_time" {
		t.Errorf("bids = %+v, want %+v and event time date_time", b, want)
	}
	if sch, err := b.ArrowSchema(); err != nil || !sch.Equal(nexmark.Bid()) {
		t.Errorf("bids schema = %v, %v", sch, err)
	}
	p := s.Source("people")
	if want := (Nexmark{Stream: "person", Events: 50, Rate: 500, Seed: 7, Partitions: 3}); p.Nexmark != want {
		t.Errorf("people = %+v, want %+v", p.Nexmark, want)
	}
	if sch, _ := p.ArrowSchema(); !sch.Equal(nexmark.Person()) {
		t.Errorf("people schema = %v", sch)
	}
	if q := s.View("q7").Qualify; q.Text != "price = max(price)" || q.Path != "views.q7.qualify" {
		t.Errorf("qualify = %+v", q)
	}
}

func TestNexmarkErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"events missing", "name: t\nsources:\n  b: {kind: nexmark}\n", []string{
			"t.yaml:3: sources.b: events is required for a nexmark source",
		}},
		{"bad settings", "name: t\nsources:\n  b: {kind: nexmark, stream: bidz, events: 0, rate: 1.5, schema: transaction}\n", []string{
			`t.yaml:3: sources.b.stream: unknown stream "bidz" (want bid, auction or person)`,
			"t.yaml:3: sources.b.events: must be a positive number of events, not 0",
			`t.yaml:3: sources.b.rate: "1.5" is not a whole number`,
			"t.yaml:3: sources.b.schema: a nexmark source's schema is its stream's; it takes no schema",
		}},
		{"event time column", "name: t\nsources:\n  b: {kind: nexmark, events: 10, event_time: ts}\n", []string{
			`t.yaml:3: sources.b.event_time: unknown column "ts" (columns: auction, bidder, price, channel, url, date_time, extra)`,
		}},
	})
}

func TestColumns(t *testing.T) {
	s := mustParse(t, `name: t
sources:
  m:
    kind: file
    path: m.csv
    columns:
      z_last_alphabetically: string
      id: STRING NOT NULL
      risk: float64 null
      amount: decimal(18, 2)
      seen: timestamp Null
    event_time: seen
`)
	want := []schema.Column{
		{Name: "z_last_alphabetically", Type: "string"},
		{Name: "id", Type: "STRING"},
		{Name: "risk", Type: "float64", Nullable: true},
		{Name: "amount", Type: "decimal(18, 2)"},
		{Name: "seen", Type: "timestamp", Nullable: true},
	}
	if got := s.Source("m").Columns; !reflect.DeepEqual(got, want) {
		t.Errorf("columns = %+v\nwant %+v", got, want)
	}
}

func TestSourceErrors(t *testing.T) {
	checkErrors(t, []errorCase{
		{"kind not a string", "name: t\nsources:\n  a: {kind: [file]}\n", []string{
			"t.yaml:3: sources.a.kind: must be a source kind (generator, file, lake, http, kafka, nats or nexmark)",
		}},
		{"unknown kind without a close match", "name: t\nsources:\n  a: {kind: s3}\n", []string{
			`t.yaml:3: sources.a.kind: unknown source kind "s3" (want generator, file, lake, http, kafka, nats or nexmark)`,
		}},
		{"kafka needs brokers and topic", "name: t\nsources:\n  a: {kind: kafka, schema: transaction}\n", []string{
			"t.yaml:3: sources.a: brokers is required for a kafka source",
			"t.yaml:3: sources.a: topic (one or a list) or topic_regex is required for a kafka source",
		}},
		{"nats needs url and stream", "name: t\nsources:\n  a: {kind: nats, schema: transaction, url: 'nats://x'}\n", []string{
			"t.yaml:3: sources.a: stream is required for a nats source",
		}},
		{"file needs path", "name: t\nsources:\n  a: {kind: file, schema: transaction}\n", []string{
			"t.yaml:3: sources.a: path is required for a file source",
		}},
		{"lake needs path", "name: t\nsources:\n  a: {kind: lake, schema: transaction}\n", []string{
			"t.yaml:3: sources.a: path is required for a lake source",
		}},
		{"lake partitioning", "name: t\nsources:\n  a: {kind: lake, path: lake, schema: transaction, partitioning: {day: float64}}\n  b: {kind: lake, path: lake, schema: transaction, partitioning: {ts: date}}\n  c: {kind: lake, path: lake, schema: transaction, endpoint: 'http://x:9000', format: parquet}\n", []string{
			"t.yaml:3: sources.a.partitioning.day: a partition column is string, int32, int64 or date, not float64",
			"t.yaml:4: sources.b.partitioning.ts: ts is a column of the files' schema too; a partition column's values come from the directories and are added to the rows",
			"t.yaml:5: sources.c.format: lake sources take no format (it is for file, http, kafka or nats sources)",
			"t.yaml:5: sources.c.endpoint: is for a lake in S3 (path: s3://bucket/prefix), and path \"lake\" is a directory",
		}},
		{"kafka key on nats", "name: t\nsources:\n  a: {kind: nats, url: u, stream: S, topic: t, schema: transaction}\n", []string{
			"t.yaml:3: sources.a.topic: nats sources take no topic (it is for kafka sources)",
		}},
		{"table on a generator", "name: t\nsources:\n  a: {kind: generator, table: true}\n", []string{
			"t.yaml:3: sources.a.table: generator sources take no table (it is for file sources)",
		}},
		{"format on a generator", "name: t\nsources:\n  a: {kind: generator, format: csv}\n", []string{
			"t.yaml:3: sources.a.format: generator sources take no format (it is for file, http, kafka or nats sources)",
		}},
		{"generator schema", "name: t\nsources:\n  a: {kind: generator, columns: {a: string}}\n  b: {kind: generator, schema: other}\n", []string{
			"t.yaml:3: sources.a.columns: a generator makes transaction records; it takes no columns",
			`t.yaml:4: sources.b.schema: unknown schema "other" (built-in: transaction, transaction_scenario)`,
		}},
		{"parquet messages", "name: t\nsources:\n  a: {kind: kafka, brokers: b, topic: t, format: parquet, schema: transaction}\n", []string{
			"t.yaml:3: sources.a.format: kafka messages are jsonl, csv or avro; parquet is for files",
		}},
		{"unknown format", "name: t\nsources:\n  a: {kind: file, path: x, format: avro, schema: transaction}\n", []string{
			`t.yaml:3: sources.a.format: unknown format "avro" (want jsonl, csv or parquet)`,
		}},
		{"format contradicts path", "name: t\nsources:\n  a: {kind: file, path: x.csv, format: jsonl, schema: transaction}\n", []string{
			`t.yaml:3: sources.a.format: format is jsonl but path "x.csv" names csv files`,
		}},
		{"http path", "name: t\nsources:\n  a: {kind: http, path: ingest, schema: transaction}\n", []string{
			`t.yaml:3: sources.a.path: "ingest" is not a URL path: it must start with /`,
		}},
		{"watermark without event time", "name: t\nsources:\n  a: {kind: file, path: x.csv, schema: transaction, watermark: 5s, idle_timeout: 1m}\n", []string{
			"t.yaml:3: sources.a.watermark: needs event_time: watermark is about event time",
			"t.yaml:3: sources.a.idle_timeout: needs event_time: idle_timeout is about event time",
		}},
		{"table with event time", "name: t\nsources:\n  a: {kind: file, path: x.csv, schema: transaction, table: true, event_time: ts}\n", []string{
			"t.yaml:3: sources.a.event_time: a table source has no event time; remove event_time or table: true",
		}},
		{"event_time not an identifier", "name: t\nsources:\n  a: {kind: generator, event_time: 'my ts'}\n", []string{
			`t.yaml:3: sources.a.event_time: "my ts" is not a column name: use letters, digits and _, not starting with a digit`,
		}},
		{"column types", "name: t\nsources:\n  a:\n    kind: file\n    path: x.csv\n    columns:\n      a: strng\n      b: decimal(40,2)\n      c: blob\n      9d: string\n      e: {type: string}\n    event_time: a\n", []string{
			`t.yaml:7: sources.a.columns.a: unknown type "strng" (did you mean "string"?)`,
			`t.yaml:8: sources.a.columns.b: bad decimal type "decimal(40,2)": want decimal(P,S) with 1 <= P <= 38, 0 <= S <= P`,
			`t.yaml:9: sources.a.columns.c: unknown type "blob" (known: string, bool, int32, int64, float64, timestamp, date, decimal(P,S))`,
			`t.yaml:10: sources.a.columns.9d: "9d" is not a valid column name: use letters, digits and _, not starting with a digit`,
			"t.yaml:11: sources.a.columns.e: must be a column type such as string, int64 or decimal(18,2)",
		}},
		{"empty columns", "name: t\nsources:\n  a: {kind: file, path: x.csv, columns: {}}\n", []string{
			"t.yaml:3: sources.a.columns: is empty; declare at least one column",
		}},
		{"generator ranges", "name: t\nsources:\n  a: {kind: generator, rows: -1, speed: -1, dup_rate: 2, disorder: 1x, partitions: 5000}\n", []string{
			"t.yaml:3: sources.a.rows: must not be negative, not -1",
			"t.yaml:3: sources.a.speed: must be 0 (as fast as possible) or a positive time factor, not -1",
			"t.yaml:3: sources.a.dup_rate: must be between 0 and 1, not 2",
			`t.yaml:3: sources.a.disorder: "1x" is not a duration: write e.g. 5s, 200ms, 10m, 1h30m or 1d`,
			"t.yaml:3: sources.a.partitions: must be between 1 and 4096, not 5000",
		}},
		{"surges as one string", "name: t\nsources:\n  a: {kind: generator, surges: '03:00x2,04:00x3'}\n", []string{
			"t.yaml:3: sources.a.surges: one surge per item: write a list, as in [03:00x10, +5mx3/10m]",
		}},
	})
}

func TestHTTPSourceLimits(t *testing.T) {
	s := mustParse(t, "name: t\nsources:\n  h: {kind: http, path: /in/tx, schema: transaction, max_backlog: 500, max_body: 2MiB}\n  d: {kind: http, schema: transaction}\n")
	if h := s.Source("h"); h.Path != "/in/tx" || h.HTTP != (HTTP{MaxBacklog: 500, MaxBody: 2 << 20}) {
		t.Errorf("http source = %+v", h)
	}
	if d := s.Source("d"); d.Path != "" || d.HTTP != (HTTP{}) {
		t.Errorf("http source with defaults = %+v", d)
	}
	for text, want := range map[string]string{
		"{kind: http, schema: transaction, max_backlog: 0}":              "t.yaml:3: sources.a.max_backlog: must be a positive number of records, not 0",
		"{kind: http, schema: transaction, max_body: lots}":              `t.yaml:3: sources.a.max_body: size "lots": want a number of bytes with an optional unit, such as 4GiB, 512MiB or 800MB`,
		"{kind: file, path: x.csv, schema: transaction, max_body: 1MiB}": "t.yaml:3: sources.a.max_body: ",
	} {
		errs := parseErrors(t, "name: t\nsources:\n  a: "+text+"\n")
		if len(errs) != 1 || !strings.HasPrefix(errs[0], want) {
			t.Errorf("%s: errors %q, want %q", text, errs, want)
		}
	}
}

func TestLakeThen(t *testing.T) {
	const live = `  live: {kind: kafka, brokers: [b:9092], topic: tx, schema: transaction, event_time: ts}
`
	lake := func(extra string) string {
		return "name: t\nsources:\n" + live + "  tx: {kind: lake, path: lake, schema: transaction, event_time: ts" + extra + "}\n"
	}
	s := mustParse(t, lake(", then: live, switch_at: '2026-03-01T00:00:00Z'")+"sinks:\n  out: {from: tx, kind: jsonl, path: out}\n")
	if src := s.Source("live"); src.LiveOf != "tx" || !s.Source("tx").Lake.SwitchAt.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("live.LiveOf = %q, switch_at %v", src.LiveOf, s.Source("tx").Lake.SwitchAt)
	}
	checkErrors(t, []errorCase{
		{"switch_at without then", lake(", switch_at: '2026-03-01T00:00:00Z'"), []string{
			"t.yaml:4: sources.tx.switch_at: is where the lake hands over to a live source: name it with then",
		}},
		{"switch_at not a time", lake(", then: live, switch_at: March"), []string{
			`t.yaml:4: sources.tx.switch_at: "March" is not an RFC 3339 time such as 2026-03-01T00:00:00Z`,
		}},
		{"then a file", "name: t\nsources:\n  f: {kind: file, path: tx.jsonl, schema: transaction, event_time: ts}\n" +
			"  tx: {kind: lake, path: lake, schema: transaction, event_time: ts, then: f, switch_at: '2026-03-01T00:00:00Z'}\n", []string{
			"t.yaml:4: sources.tx.then: f is a file source; a lake goes on with a live one, kafka or nats",
		}},
		{"the live source read as a stream", lake(", then: live, switch_at: '2026-03-01T00:00:00Z'") + "sinks:\n  out: {from: live, kind: jsonl, path: out}\n", []string{
			`t.yaml:6: sinks.out.from: "live" is read after the history of source tx (its then:), as part of that stream; read tx instead`,
		}},
	})
}
