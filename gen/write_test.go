package gen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"millrace/format"
	"millrace/schema"
)

// messyConfig turns every delivery feature on.
func messyConfig() Config {
	cfg := smallConfig()
	cfg.Rows = 30_000
	cfg.FraudRate = 0.01
	cfg.Disorder = 2 * time.Second
	cfg.LateRate = 0.005
	cfg.DupRate = 0.01
	cfg.CorruptRate = 0.01
	return cfg
}

func write(t *testing.T, cfg Config, kind format.Kind) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(context.Background(), cfg, &buf, kind, format.WriteOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

func TestWriteDeterministic(t *testing.T) {
	for _, kind := range []format.Kind{format.JSONL, format.CSV, format.Parquet} {
		cfg := messyConfig()
		if kind == format.Parquet {
			cfg.CorruptRate = 0
		}
		a, _ := write(t, cfg, kind)
		b, _ := write(t, cfg, kind)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two writes of the same config differ", kind)
		}
		cfg.Seed = 2
		if c, _ := write(t, cfg, kind); bytes.Equal(a, c) {
			t.Errorf("%s: seeds 1 and 2 wrote the same bytes", kind)
		}
	}
}

// Everything written is accounted for: a decoder reads Rows-Corrupt rows and Corrupt dead
// letters, every kind of corruption among them, and the rows are the generator's.
func TestWriteDecodes(t *testing.T) {
	for _, kind := range []format.Kind{format.JSONL, format.CSV} {
		t.Run(string(kind), func(t *testing.T) {
			cfg := messyConfig()
			cfg.Rows = 100_000
			cfg.CorruptRate = 0.02
			out, st := write(t, cfg, kind)
			rows, dead := decodeRows(t, kind, out)
			if int64(len(dead)) != st.Corrupt || int64(len(rows)) != st.Rows-st.Corrupt {
				t.Fatalf("decoded %d rows and %d dead letters; stats: %d rows, %d corrupt", len(rows), len(dead), st.Rows, st.Corrupt)
			}
			if f := float64(st.Corrupt) / float64(st.Rows); f < 0.017 || f > 0.023 {
				t.Errorf("corrupt fraction %.4f, want 0.02", f)
			}
			var sum int64
			for _, name := range CorruptKinds(kind) {
				if st.CorruptBy[name] == 0 {
					t.Errorf("corruption %s never used", name)
				}
				sum += st.CorruptBy[name]
			}
			if sum != st.Corrupt {
				t.Errorf("corruptions by kind add up to %d, not %d", sum, st.Corrupt)
			}
			for _, d := range dead {
				if d.Reason == "" {
					t.Fatalf("dead letter without a reason at %s", d.Where())
				}
			}
			// The rows that survived are the generated ones, in order.
			cfg.CorruptRate = 0
			all, _ := generate(t, cfg, 8192)
			j := 0
			for _, r := range rows {
				for j < len(all) && all[j] != r {
					j++
				}
				if j == len(all) {
					t.Fatalf("decoded row %+v is not a generated row in order", r)
				}
				j++
			}
			fraud := 0
			for _, r := range rows {
				if r.fraud {
					fraud++
				}
			}
			if int64(fraud) > st.Fraud || float64(fraud) < 0.95*float64(st.Fraud) {
				t.Errorf("%d fraud rows decoded, %d written", fraud, st.Fraud)
			}
		})
	}
}

func TestWriteParquet(t *testing.T) {
	cfg := messyConfig()
	cfg.CorruptRate = 0
	path := filepath.Join(t.TempDir(), "tx.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Write(context.Background(), cfg, f, format.Parquet, format.WriteOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := format.OpenParquet(path, schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows []txRow
	for {
		rec, dead, err := r.Read()
		if err != nil {
			break
		}
		if len(dead) > 0 {
			t.Fatalf("dead letters in a generated Parquet file: %v", dead)
		}
		rows = readRows(t, rec, rows)
		rec.Release()
	}
	want, _ := generate(t, cfg, 8192)
	if int64(len(rows)) != st.Rows || len(rows) != len(want) {
		t.Fatalf("read %d rows, wrote %d, generated %d", len(rows), st.Rows, len(want))
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Fatalf("row %d reads back as %+v, generated %+v", i, rows[i], want[i])
		}
	}
	cfg.CorruptRate = 0.1
	if _, err := Write(context.Background(), cfg, &bytes.Buffer{}, format.Parquet, format.WriteOptions{}, nil); err == nil {
		t.Error("Parquet with corruption accepted")
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteErrorsAndProgress(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 100_000
	var calls []int64
	var last time.Time
	st, err := Write(context.Background(), cfg, &bytes.Buffer{}, format.CSV, format.WriteOptions{},
		func(rows int64, eventTime time.Time) {
			calls = append(calls, rows)
			if eventTime.Before(last) {
				t.Errorf("progress went back in time to %s", eventTime)
			}
			last = eventTime
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 3 || calls[len(calls)-1] != st.Rows || !last.Equal(st.Last) {
		t.Errorf("progress calls %v ending at %s; stats %d rows, last %s", calls, last, st.Rows, st.Last)
	}

	_, err = Write(context.Background(), cfg, &failingWriter{after: 1 << 20}, format.JSONL, format.WriteOptions{}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "jsonl") {
		t.Errorf("write to a failing writer: %v", err)
	}
	if _, err := Write(context.Background(), cfg, &bytes.Buffer{}, format.Kind("xml"), format.WriteOptions{}, nil); err == nil {
		t.Error("unknown format accepted")
	}
	bad := cfg
	bad.Rate = 0
	if _, err := Write(context.Background(), bad, &bytes.Buffer{}, format.CSV, format.WriteOptions{}, nil); err == nil {
		t.Error("invalid config accepted")
	}
}

// An endless paced stream ends with its context; what was generated is all written.
func TestWriteUntilCancelled(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 0
	cfg.Speed, cfg.Clock = 10, &fakeClock{now: time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)}
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	st, err := Write(ctx, cfg, &buf, format.JSONL, format.WriteOptions{}, func(rows int64, _ time.Time) {
		if rows > 20_000 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write returned %v, want the context's error", err)
	}
	rows, dead := decodeRows(t, format.JSONL, buf.Bytes())
	if len(dead) != 0 || int64(len(rows)) != st.Rows || st.Rows <= 20_000 {
		t.Fatalf("%d rows and %d dead letters written, stats say %d rows", len(rows), len(dead), st.Rows)
	}
}

// BenchmarkWrite measures generating and encoding text with 1% corruption, in rows per second.
func BenchmarkWrite(b *testing.B) {
	for _, kind := range []format.Kind{format.JSONL, format.CSV} {
		b.Run(string(kind), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Rows = int64(max(b.N, 1))
			cfg.CorruptRate = 0.01
			b.ReportAllocs()
			b.ResetTimer()
			st, err := Write(context.Background(), cfg, io.Discard, kind, format.WriteOptions{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
