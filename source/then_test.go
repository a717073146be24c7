package source

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"millrace/format"
	"millrace/gen"
	"millrace/schema"
)

func TestNewThenRefuses(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/tx.jsonl"
	cfg := gen.DefaultConfig()
	cfg.Rows = 10
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Write(context.Background(), cfg, f, format.JSONL, format.WriteOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	history, err := NewFile(path, format.JSONL, schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	liveCfg := gen.DefaultConfig()
	liveCfg.Rows, liveCfg.Partitions = 0, 2
	live, err := NewGenerator(liveCfg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	then, err := NewThen(history, live, "ts", at)
	if err != nil {
		t.Fatal(err)
	}
	if then.Partitions() != history.Partitions()+2 || !then.Ends(0) || then.Ends(history.Partitions()) || then.Capabilities().Bounded {
		t.Errorf("partitions %d, ends(0) %v, ends(live) %v, %+v", then.Partitions(), then.Ends(0), then.Ends(history.Partitions()), then.Capabilities())
	}
	fewer, err := NewFile(path, format.JSONL, arrow.NewSchema(schema.Transaction().Fields()[:3], nil), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		history, live Source
		eventTime     string
		want          string
	}{
		{fewer, live, "ts", "the history's columns (tx_id utf8, ts timestamp[ms, tz=UTC], account_id utf8) and the live source's"},
		{live, live, "ts", "the history must end"},
		{history, history, "ts", "the live source ends"},
		{history, live, "amount", `event time "amount" is decimal`},
		{history, live, "when", `event time "when" is not a column`},
	} {
		if _, err := NewThen(c.history, c.live, c.eventTime, at); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewThen: %v, want %q", err, c.want)
		}
	}
}

// sharingLive is a live source whose copies made by Share are numbered.
type sharingLive struct {
	*Generator
	copy int
	made *int
}

func (s *sharingLive) Share() Source {
	*s.made++
	return &sharingLive{Generator: s.Generator, copy: *s.made, made: s.made}
}

// TestThenSharesTheLiveSourcesFetch checks that a copy of a history followed by a live
// source that Share made reads the live source through a copy of its own, so a source
// subtask's live partitions fetch together, and the history as it was.
func TestThenSharesTheLiveSourcesFetch(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows = 10
	history, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Rows = 0
	unbounded, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	live := &sharingLive{Generator: unbounded, made: new(int)}
	then, err := NewThen(history, live, "ts", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, b := then.Share().(*Then), then.Share().(*Then)
	if a.history != Source(history) || b.history != Source(history) {
		t.Error("a copy reads another history")
	}
	if la, lb := a.live.(*sharingLive), b.live.(*sharingLive); la.copy != 1 || lb.copy != 2 || then.live != Source(live) {
		t.Errorf("copies read live copies %d and %d, want 1 and 2, the original its own", la.copy, lb.copy)
	}
}
