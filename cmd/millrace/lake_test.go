package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"millrace/objstore"
	"millrace/objstore/objstoretest"
)

// lakeSpec is a pipeline over history: the rows of two days above an amount, and hourly
// sums per channel over them. kind, path and the where's day test differ between a lake
// source and a file source over the same files; the rest is the same.
func lakeSpec(t *testing.T, dir, kind, path, day string) string {
	t.Helper()
	src := "    kind: " + kind + "\n    path: " + path + "\n"
	if kind == "lake" {
		src += "    partitioning: {date: date}\n"
	}
	text := `name: history
sources:
  tx:
` + src + `    schema: transaction
    event_time: ts
    watermark: 48h
views:
  large:
    from: tx
    where: ` + day + ` BETWEEN '2026-03-02' AND '2026-03-03' AND amount >= 200
    select: {tx_id: tx_id, ts: ts, amount: amount, channel: channel}
  hourly:
    from: tx
    where: ` + day + ` BETWEEN '2026-03-02' AND '2026-03-03' AND amount >= 200
    group_by: [channel]
    window: {tumble: 1h}
    select: {n: count(*), spend: sum(amount)}
sinks:
  large: {from: large, kind: jsonl, path: out/large.jsonl}
  hourly: {from: hourly, kind: jsonl, path: out/hourly.jsonl}
`
	p := filepath.Join(dir, kind+".yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runIn runs millrace in dir and returns what it printed on stdout and stderr.
func runIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	t.Chdir(dir)
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("millrace %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// sortedLines reads a file's lines, sorted.
func sortedLines(t *testing.T, path string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(readFile(t, path))), "\n")
	slices.Sort(lines)
	return lines
}

func TestLakeAnswersAsAFullScanDoes(t *testing.T) {
	dir := t.TempDir()
	// Six days of transactions, written as a lake partitioned by day by a pipeline.
	mustRun(t, "gen", "--rows", "12000", "--rate", "0.025", "--flat", "--seed", "5", "--start", "2026-03-01T00:00:00Z", "--out", filepath.Join(dir, "tx.parquet"))
	write := `name: write-lake
sources:
  tx: {kind: file, path: tx.parquet, schema: transaction}
sinks:
  lake: {from: tx, kind: parquet, path: lake, partition_by: [date(ts)]}
`
	if err := os.WriteFile(filepath.Join(dir, "write.yaml"), []byte(write), 0o644); err != nil {
		t.Fatal(err)
	}
	runIn(t, dir, "run", "write.yaml", "--listen", "", "--fresh")
	days, _ := filepath.Glob(filepath.Join(dir, "lake", "date=*"))
	if len(days) < 5 {
		t.Fatalf("the lake has %d day partitions, want about 6: %v", len(days), days)
	}

	// The same question over the lake and over its files as plain Parquet files.
	runs := []struct{ name, kind, path, day string }{
		{"file", "file", filepath.Join(dir, "lake/**/*.parquet"), "date(ts)"},
		{"lake", "lake", filepath.Join(dir, "lake"), "date"},
	}
	outs := map[string][2][]string{}
	plans := map[string]string{}
	for _, r := range runs {
		work := filepath.Join(dir, "run-"+r.name)
		if err := os.MkdirAll(work, 0o755); err != nil {
			t.Fatal(err)
		}
		spec := lakeSpec(t, work, r.kind, r.path, r.day)
		plans[r.name] = runIn(t, work, "plan", spec, "-p", "2")
		runIn(t, work, "run", spec, "-p", "2", "--listen", "", "--fresh")
		outs[r.name] = [2][]string{sortedLines(t, filepath.Join(work, "out/large.jsonl")), sortedLines(t, filepath.Join(work, "out/hourly.jsonl"))}
	}
	file, lake := outs["file"], outs["lake"]
	if len(file[0]) < 100 || len(file[1]) < 20 {
		t.Fatalf("the full scan gives %d large rows and %d hourly sums: too few to compare", len(file[0]), len(file[1]))
	}
	for i, sink := range []string{"large", "hourly"} {
		if !slices.Equal(file[i], lake[i]) {
			t.Errorf("sink %s: the lake gives %d rows, the full scan %d", sink, len(lake[i]), len(file[i]))
		}
	}
	// The lake read two of the days, and only the columns the views use.
	p := plans["lake"]
	for _, want := range []string{"read the Parquet lake file://", "2 file(s)", "partition directories pruned",
		"pushed down: where date BETWEEN", "ts timestamp", "amount decimal(18, 2)", "channel utf8"} {
		if !strings.Contains(p, want) {
			t.Errorf("the lake's plan does not say %q:\n%s", want, p)
		}
	}
	if strings.Contains(p, "merchant_id") {
		t.Errorf("the lake's plan reads merchant_id, which no view uses:\n%s", p)
	}
	// Plain Parquet files, too, are decoded only in the columns the views use.
	if f := plans["file"]; !strings.Contains(f, "channel utf8") || strings.Contains(f, "merchant_id") {
		t.Errorf("the file source's plan should read channel and not merchant_id:\n%s", f)
	}

	// The same lake in S3 gives the same answer, and its credentials appear nowhere.
	url := objstoretest.S3(t)
	store, err := objstore.Open(t.Context(), url, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(filepath.Join(dir, "lake"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(filepath.Join(dir, "lake"), path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return store.Put(t.Context(), "lake/"+filepath.ToSlash(rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "s3")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := lakeSpec(t, work, "lake", url+"/lake", "date")
	plan := runIn(t, work, "plan", spec, "-p", "2")
	logs := runIn(t, work, "run", spec, "-p", "2", "--listen", "", "--fresh")
	for i, sink := range []string{"large", "hourly"} {
		if got := sortedLines(t, filepath.Join(work, "out", sink+".jsonl")); !slices.Equal(got, lake[i]) {
			t.Errorf("sink %s: the lake in S3 gives %d rows, in a directory %d", sink, len(got), len(lake[i]))
		}
	}
	if !strings.Contains(plan, "read the Parquet lake s3://millrace-test/state/lake") || !strings.Contains(plan, "2 file(s)") {
		t.Errorf("the S3 lake's plan:\n%s", plan)
	}
	for _, secret := range []string{os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_ACCESS_KEY_ID")} {
		if strings.Contains(plan, secret) || strings.Contains(logs, secret) {
			t.Errorf("a credential appears in the plan or the run's output")
		}
	}
	var out bytes.Buffer
	root := newRoot()
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"plan", spec, "--json"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), os.Getenv("AWS_SECRET_ACCESS_KEY")) {
		t.Errorf("a credential appears in plan --json")
	}
}

// A pipeline writes a partitioned Parquet lake into S3: the objects are the files it
// writes into a directory, byte for byte, they appear only when checkpoints commit, and no
// credential is printed.
func TestLakeWrittenToS3(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "gen", "--rows", "12000", "--rate", "0.025", "--flat", "--seed", "8", "--start", "2026-03-01T00:00:00Z", "--out", filepath.Join(dir, "tx.parquet"))
	url := objstoretest.S3(t)
	write := func(path string) string {
		return `name: write-lake
sources:
  tx: {kind: file, path: ` + filepath.Join(dir, "tx.parquet") + `, schema: transaction}
sinks:
  lake: {from: tx, kind: parquet, path: ` + path + `, partition_by: [date(ts)]}
`
	}
	local, s3 := filepath.Join(dir, "local"), filepath.Join(dir, "s3")
	for work, path := range map[string]string{local: "lake", s3: url + "/lake/"} {
		if err := os.MkdirAll(work, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, "write.yaml"), []byte(write(path)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runIn(t, local, "run", "write.yaml", "-p", "2", "--listen", "", "--checkpoint", filepath.Join(dir, "ckpt-local"))
	logs := runIn(t, s3, "run", "write.yaml", "-p", "2", "--listen", "", "--checkpoint", filepath.Join(dir, "ckpt-s3"))

	want := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join(local, "lake"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, err := filepath.Rel(filepath.Join(local, "lake"), path)
		if err == nil {
			want["lake/"+filepath.ToSlash(rel)], err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 5 {
		t.Fatalf("the local lake has %d files, want one or more per day of about six", len(want))
	}
	store, err := objstore.Open(t.Context(), url, objstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close() }() // read only
	objs, err := store.List(t.Context(), "lake/")
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, o := range objs {
		if o.Key == "lake/.millrace" {
			continue
		}
		got++
		data, err := store.Get(t.Context(), o.Key)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[o.Key]; !ok || !bytes.Equal(data, w) {
			t.Errorf("%s in S3: %d bytes, in the directory %d (there: %v)", o.Key, len(data), len(w), ok)
		}
	}
	if got != len(want) {
		t.Errorf("S3 holds %d part files, the directory %d", got, len(want))
	}
	if ups, err := store.(objstore.Uploads).ListUploads(t.Context(), ""); err != nil || len(ups) > 0 {
		t.Errorf("uploads left in progress: %v, %v", ups, err)
	}
	if !strings.Contains(logs, "12,000 rows in") || !strings.Contains(logs, "s3://millrace-test/state/lake") {
		t.Errorf("the run's summary does not give the rows in S3:\n%s", logs)
	}
	for _, secret := range []string{os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_ACCESS_KEY_ID")} {
		if strings.Contains(logs, secret) {
			t.Errorf("a credential appears in the run's output")
		}
	}
}
