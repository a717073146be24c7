package spec

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenEnv is the environment the golden specs are parsed with.
func goldenEnv(name string) (string, bool) {
	v, ok := map[string]string{"OUT": "out/live", "EMPTY": ""}[name]
	return v, ok
}

// TestGoldenValid parses every testdata/*.yaml, which must be valid, and compares a dump of
// the result with testdata/NAME.golden.
func TestGoldenValid(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid specs under testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(data, filepath.Base(file), goldenEnv)
			if err != nil {
				t.Fatalf("want a valid spec, got:\n%v", err)
			}
			golden(t, strings.TrimSuffix(file, ".yaml")+".golden", dump(s))
		})
	}
}

// TestGoldenBad parses every testdata/bad/*.yaml and compares the errors with
// testdata/bad/NAME.err.
func TestGoldenBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad specs under testdata/bad: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(data, filepath.Base(file), goldenEnv)
			if err == nil {
				t.Fatalf("want errors, got a valid spec:\n%s", dump(s))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			golden(t, strings.TrimSuffix(file, ".yaml")+".err", err.Error()+"\n")
		})
	}
}

// golden compares got with the file at path, or rewrites the file under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./spec -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./spec -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// dump renders a spec as text, every value and position, for golden files.
func dump(s *Spec) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	expr := func(indent, what string, e Expr) {
		if !e.IsZero() {
			p("%s%s %s @%d:%d %q\n", indent, what, e.Path, e.Pos.Line, e.Pos.Column, e.Text)
		}
	}
	p("name %s\n", s.Name)
	for _, src := range s.Sources {
		p("source %s @%d:%d kind=%s", src.Name, src.Pos.Line, src.Pos.Column, src.Kind)
		if src.Path != "" {
			p(" path=%q", src.Path)
		}
		if src.Format != "" {
			p(" format=%s", src.Format)
		}
		if src.Schema != "" {
			p(" schema=%s", src.Schema)
		}
		if src.Zone != nil {
			p(" timezone=%s", src.Zone)
		}
		p(" event_time=%q watermark=%s idle_timeout=%s table=%t\n", src.EventTime, src.Watermark, src.IdleTimeout, src.Table)
		for _, c := range src.Columns {
			p("  column %s %q nullable=%t\n", c.Name, c.Type, c.Nullable)
		}
		for _, c := range src.Checks {
			expr("  ", "check", c)
		}
		switch src.Kind {
		case SourceGenerator:
			p("  generator %+v\n", src.Generator)
		case SourceNexmark:
			p("  nexmark %+v\n", src.Nexmark)
		case SourceKafka:
			p("  kafka %+v\n", src.Kafka)
		case SourceNATS:
			p("  nats %+v\n", src.NATS)
		}
	}
	for _, v := range s.Views {
		p("view %s @%d:%d from=%v\n", v.Name, v.Pos.Line, v.Pos.Column, v.From)
		if j := v.Join; j != nil {
			p("  join @%d:%d table=%s on=%v type=%s\n", j.Pos.Line, j.Pos.Column, j.Table, j.On, j.Type)
		}
		expr("  ", "where", v.Where)
		for _, g := range v.GroupBy {
			expr("  ", "group_by", g)
		}
		if w := v.Window; w != nil {
			p("  window @%d:%d %s size=%s every=%s gap=%s\n", w.Pos.Line, w.Pos.Column, w.Kind, w.Size, w.Every, w.Gap)
		}
		for _, f := range v.Select {
			expr("  ", "select "+f.Name, f.Expr)
		}
		expr("  ", "having", v.Having)
		expr("  ", "qualify", v.Qualify)
	}
	for _, k := range s.Sinks {
		p("sink %s @%d:%d from=%s kind=%s path=%q format=%s compression=%q\n", k.Name, k.Pos.Line, k.Pos.Column, k.From, k.Kind, k.Path, k.Format, k.Compression)
		for _, e := range k.PartitionBy {
			expr("  ", "partition_by", e)
		}
	}
	p("order %s\n", strings.Join(s.Order(), ", "))
	return b.String()
}
