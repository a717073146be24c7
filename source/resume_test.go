package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"millrace/format"
	"millrace/format/formattest"
	"millrace/gen"
	"millrace/schema"
)

// batchRead is one Read of a partition as text: its rows encoded as JSON lines, its dead
// letters with where they came from, and the reader's checkpoint after it.
type batchRead struct {
	rows, dead []string
	checkpoint string
}

// partitionRead reads partitions batch by batch, as text.
type partitionRead struct {
	t   *testing.T
	s   Source
	enc format.RowEncoder
}

func newPartitionRead(t *testing.T, s Source) partitionRead {
	enc, err := format.NewRowEncoder(format.JSONL, s.Schema())
	if err != nil {
		t.Fatal(err)
	}
	return partitionRead{t: t, s: s, enc: enc}
}

// next reads one batch; it reports false at io.EOF.
func (pr partitionRead) next(r PartitionReader) (batchRead, bool) {
	pr.t.Helper()
	rec, dead, err := r.Read(context.Background())
	if errors.Is(err, io.EOF) {
		return batchRead{}, false
	}
	if err != nil {
		pr.t.Fatal(err)
	}
	var b batchRead
	if rec != nil {
		var lines []int64
		if lf := r.Progress().Lines; lf != nil {
			if lines, err = lf(); err != nil {
				pr.t.Fatal(err)
			}
		}
		for i := range int(rec.NumRows()) {
			line := ""
			if lines != nil {
				line = fmt.Sprintf("%d ", lines[i])
			}
			b.rows = append(b.rows, line+string(pr.enc.AppendRow(nil, rec, i)))
		}
		rec.Release()
	}
	for _, d := range dead {
		b.dead = append(b.dead, fmt.Sprintf("%s @%d %q: %s", d.Where(), d.Offset, d.Raw, d.Reason))
	}
	cp, err := r.Checkpoint()
	if err != nil {
		pr.t.Fatal(err)
	}
	b.checkpoint = string(cp)
	return b, true
}

// rest reads r to io.EOF and closes it, checking that BytesRead never falls and ends at
// the partition's Size.
func (pr partitionRead) rest(r PartitionReader, p int) []batchRead {
	pr.t.Helper()
	defer r.Close()
	var out []batchRead
	counts := pr.s.Size(p) > 0
	bytesRead := func() int64 { return r.Progress().BytesRead }
	read := bytesRead()
	for {
		b, ok := pr.next(r)
		if n := bytesRead(); n < read {
			pr.t.Fatalf("partition %d: BytesRead fell from %d to %d", p, read, n)
		} else {
			read = n
		}
		if !ok {
			if counts && read != pr.s.Size(p) {
				pr.t.Errorf("partition %d: BytesRead %d at the end, want Size %d", p, read, pr.s.Size(p))
			}
			return out
		}
		out = append(out, b)
	}
}

func joined(reads []batchRead) (rows, dead string) {
	var r, d []string
	for _, b := range reads {
		r = append(r, b.rows...)
		d = append(d, b.dead...)
	}
	return strings.Join(r, "\n"), strings.Join(d, "\n")
}

// checkResume reads partition p in one go, then for several k again with a checkpoint after
// every k-th batch, resuming a new reader from each: the batches before the checkpoint and
// those after the resume must be the batches of the read in one go, row by row and dead
// letter by dead letter, with the same checkpoints after each; at the end the resumed reader
// yields io.EOF at once.
func checkResume(t *testing.T, s Source, p int) (rows, dead int) {
	t.Helper()
	pr := newPartitionRead(t, s)
	r, err := s.Open(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole := pr.rest(r, p)
	if len(whole) < 5 {
		t.Fatalf("partition %d: %d batches, too few to resume in between", p, len(whole))
	}
	wantRows, wantDead := joined(whole)
	for _, k := range []int{1, 3, 7} {
		r, err := s.Open(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			b, ok := pr.next(r)
			if !ok {
				break
			}
			if b.checkpoint != whole[i].checkpoint {
				t.Fatalf("partition %d: checkpoint %s after batch %d, the first read's %s", p, b.checkpoint, i, whole[i].checkpoint)
			}
			if (i+1)%k != 0 {
				continue
			}
			resumed, err := s.Open(context.Background(), p, []byte(b.checkpoint))
			if err != nil {
				t.Fatalf("partition %d: resume at %s: %v", p, b.checkpoint, err)
			}
			after := pr.rest(resumed, p)
			gotRows, gotDead := joined(append(append([]batchRead(nil), whole[:i+1]...), after...))
			if gotRows != wantRows {
				t.Fatalf("partition %d, resumed at %s: the rows differ from a read in one go\ngot  %.300s\nwant %.300s", p, b.checkpoint, gotRows, wantRows)
			}
			if gotDead != wantDead {
				t.Fatalf("partition %d, resumed at %s: dead letters\n%s\nwant\n%s", p, b.checkpoint, gotDead, wantDead)
			}
			for j, a := range after {
				if a.checkpoint != whole[i+1+j].checkpoint {
					t.Fatalf("partition %d, resumed at %s: checkpoint %s after batch %d, want %s", p, b.checkpoint, a.checkpoint, i+1+j, whole[i+1+j].checkpoint)
				}
			}
		}
		r.Close()
	}
	// Resuming at the end yields io.EOF at once, and again after.
	end, err := s.Open(context.Background(), p, []byte(whole[len(whole)-1].checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if rec, dead, err := end.Read(context.Background()); !errors.Is(err, io.EOF) || rec != nil || dead != nil {
			t.Fatalf("partition %d: Read at the end returned %v, %v, %v", p, rec, dead, err)
		}
	}
	end.Close()
	for _, b := range whole {
		rows += len(b.rows)
		dead += len(b.dead)
	}
	return rows, dead
}

// writeGenerated writes cfg's stream to dir/name and returns the path.
func writeGenerated(t *testing.T, dir, name string, cfg gen.Config, opts format.WriteOptions) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := format.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kind, _, _ := format.Detect(name)
	if _, err := gen.Write(context.Background(), cfg, f, kind, opts, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFileSourceResumesTextFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate, cfg.Accounts, cfg.Merchants = 2000, 0.03, 1000, 200
	for _, name := range []string{"tx.jsonl", "tx.jsonl.gz", "tx.csv", "tx.csv.zst"} {
		t.Run(name, func(t *testing.T) {
			path := writeGenerated(t, dir, name, cfg, format.WriteOptions{})
			s, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 100})
			if err != nil {
				t.Fatal(err)
			}
			rows, dead := checkResume(t, s, 0)
			if rows+dead != 2000 || dead < 20 {
				t.Fatalf("%d rows and %d dead letters", rows, dead)
			}
		})
	}
}

// TestFileSourceResumesJSONLSplits resumes every split of a JSONL file cut into byte
// ranges, from checkpoints in the middle of each: the later splits' checkpoints name no line
// until a dead letter made their reader count the lines before them.
func TestFileSourceResumesJSONLSplits(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.CorruptRate, cfg.Accounts, cfg.Merchants = 3000, 0.01, 1000, 200
	path := writeGenerated(t, t.TempDir(), "tx.jsonl", cfg, format.WriteOptions{})
	s, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 60}, WithSplitBytes(200<<10))
	if err != nil {
		t.Fatal(err)
	}
	if s.Partitions() < 3 {
		t.Fatalf("%d partitions", s.Partitions())
	}
	total := 0
	for p := range s.Partitions() {
		rows, dead := checkResume(t, s, p)
		total += rows + dead
	}
	if total != 3000 {
		t.Fatalf("%d records over the splits", total)
	}
	// A checkpoint taken before a split's reader needed a line number names none, and
	// resumes as well: the rows after it come from the lines they came from before.
	pr := newPartitionRead(t, s)
	for p := 1; p < s.Partitions(); p++ {
		r, err := s.Open(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		whole := pr.rest(r, p)
		r, err = s.Open(context.Background(), p, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := r.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rec.Release()
		cp, err := r.Checkpoint()
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(cp), "line") {
			continue // a dead letter in the first batch needed a line number
		}
		resumed, err := s.Open(context.Background(), p, cp)
		if err != nil {
			t.Fatalf("partition %d: resume at %s: %v", p, cp, err)
		}
		gotRows, gotDead := joined(pr.rest(resumed, p))
		wantRows, wantDead := joined(whole[1:])
		if gotRows != wantRows || gotDead != wantDead {
			t.Fatalf("partition %d, resumed at %s:\n%.300s\n%s\nwant\n%.300s\n%s", p, cp, gotRows, gotDead, wantRows, wantDead)
		}
		return
	}
	t.Fatal("no split's first checkpoint was taken before it needed a line number")
}

func TestFileSourceResumesParquetSplits(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Accounts, cfg.Merchants = 5500, 1000, 200
	path := writeGenerated(t, t.TempDir(), "tx.parquet", cfg, format.WriteOptions{RowGroupRows: 1000})
	groups, err := format.ParquetRowGroupSizes(path, schema.Transaction())
	if err != nil || len(groups) != 6 {
		t.Fatalf("row groups %v %v", groups, err)
	}
	s, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 300})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := checkResume(t, s, 0) // the whole file as one split
	if rows != 5500 {
		t.Fatalf("%d rows", rows)
	}
	s.splits = splitRowGroups(0, groups, 2000) // [0,2) [2,4) [4,6)
	total := 0
	for p := range s.Partitions() {
		rows, _ := checkResume(t, s, p)
		total += rows
	}
	if total != 5500 {
		t.Fatalf("%d rows over the splits", total)
	}
}

func TestGeneratorSourceResumes(t *testing.T) {
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Partitions, cfg.Accounts, cfg.Merchants = 4000, 2, 1000, 200
	cfg.Disorder, cfg.DupRate, cfg.LateRate, cfg.FraudRate = time.Second, 0.01, 0.01, 0.02
	s, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.batchRows = 150
	for p := range s.Partitions() {
		if rows, _ := checkResume(t, s, p); rows != 2000 {
			t.Fatalf("partition %d: %d rows", p, rows)
		}
	}
}

// TestGeneratorSourceResumesPaced resumes a paced stream whose start came from the clock:
// the rows after the checkpoint are those of the stream it was taken from.
func TestGeneratorSourceResumesPaced(t *testing.T) {
	clock := &stepClock{now: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)}
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Accounts, cfg.Merchants, cfg.Rate = 600, 1000, 200, 100
	cfg.Speed, cfg.Clock = 1, clock
	s, err := NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pr := newPartitionRead(t, s)
	r, err := s.Open(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	whole := pr.rest(r, 0)
	wantRows, _ := joined(whole)
	cp := whole[len(whole)/2].checkpoint

	clock.now = clock.now.Add(time.Hour) // the source was stopped for an hour
	resumed, err := s.Open(context.Background(), 0, []byte(cp))
	if err != nil {
		t.Fatal(err)
	}
	opened := clock.Now()
	first, ok := pr.next(resumed)
	if !ok {
		t.Fatal("nothing after the checkpoint")
	}
	if waited := clock.Now().Sub(opened); waited > time.Second {
		t.Errorf("the first batch after resuming came %s after it: the stream did not go on from where it paused", waited)
	}
	after := append([]batchRead{first}, pr.rest(resumed, 0)...)
	gotRows, _ := joined(append(append([]batchRead(nil), whole[:len(whole)/2+1]...), after...))
	if gotRows != wantRows {
		t.Fatalf("resumed paced stream differs:\ngot  %.300s\nwant %.300s", gotRows, wantRows)
	}
}

// stepClock is a gen.Clock whose time moves only when someone sleeps on it.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }

func (c *stepClock) SleepUntil(ctx context.Context, t time.Time) error {
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

func TestResumeRefusesPositionsOfOtherPartitions(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Accounts, cfg.Merchants = 2500, 1000, 200
	writeGenerated(t, dir, "a.jsonl", cfg, format.WriteOptions{})
	writeGenerated(t, dir, "b.csv.gz", cfg, format.WriteOptions{})
	pq := writeGenerated(t, dir, "c.parquet", cfg, format.WriteOptions{RowGroupRows: 1000})
	s, err := NewFile(dir, "", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := format.ParquetRowGroupSizes(pq, schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	s.splits = append(s.splits[:2], splitRowGroups(2, groups, 1500)...) // c: [0,2) [2,3)
	a, b, c := s.Files()[0], s.Files()[1], s.Files()[2]
	g, err := NewGenerator(gen.Config{Seed: 7, Rows: 1000, Rate: 10, Accounts: 100, Merchants: 10, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		src  Source
		part int
		pos  string
		want string
	}{
		{s, 0, fmt.Sprintf(`{"v":1,"file":%q,"offset":0,"line":1}`, b), fmt.Sprintf("file source partition 0 (%s): resume: it is a position in %q, not in %q", a, b, a)},
		{s, 0, `{"v":2,"file":"x","offset":0,"line":1}`, "partition 0 (" + a + "): resume: version 2, want 1"},
		{s, 1, `offset 12`, "partition 1 (" + b + "): resume: not a position"},
		{s, 1, `{"v":1,"file":"x","offset":0,"line":1} {}`, "partition 1 (" + b + "): resume: not a position: text after the JSON object"},
		{s, 1, `{"v":1,"file":"x","offset":0,"line":1,"extra":3}`, `partition 1 (` + b + `): resume: not a position: json: unknown field "extra"`},
		{s, 1, ``, "empty position"},
		{s, 0, fmt.Sprintf(`{"v":1,"file":%q,"row_group":0,"row":0}`, a), "a text file's position has an offset and a line"},
		{s, 0, fmt.Sprintf(`{"v":1,"file":%q,"offset":7,"line":2}`, a), "file source partition 0: resume: open " + fmt.Sprintf("%q", a) + " at line 2 (byte 7): byte 7 does not start a line"},
		{s, 2, fmt.Sprintf(`{"v":1,"file":%q,"offset":0,"line":1}`, c), "a Parquet file's position has a row_group and a row"},
		{s, 3, fmt.Sprintf(`{"v":1,"file":%q,"row_group":1,"row":0}`, c), "the reader reads row groups [2, 3)"},
		{s, 3, fmt.Sprintf(`{"v":1,"file":%q,"row_group":2,"row":500}`, c), "row group 2 has 500 rows"},
		{s, 4, `{}`, "file source: no partition 4 (it has 4)"},
		{g, 1, `{"v":1,"seed":7,"partition":0,"partitions":2,"start":"2024-01-01T00:00:00Z","rows":3}`, "generator partition 1: resume: the position is of seed 7, partition 0 of 2; this is seed 7, partition 1 of 2"},
		{g, 0, `{"v":1,"seed":7,"partition":0,"partitions":2,"start":"2024-02-01T00:00:00Z","rows":3}`, "the position is of a stream starting at 2024-02-01T00:00:00Z; this one starts at 2024-01-01T00:00:00Z"},
		{g, 0, `{"v":1,"seed":7,"partition":0,"partitions":2,"start":"2024-01-01T00:00:00Z","rows":501}`, "the position is row 501, past the end of the partition's 500 rows"},
		{g, 0, `{"v":1,"seed":7,"partition":0,"start":"2024-01-01T00:00:00Z","rows":1}`, "generator partition 0: resume: a generator's position has a seed, partition, partitions, start and rows"},
		{g, 0, `{"v":1,"file":"a.jsonl","offset":0,"line":1}`, `generator partition 0: resume: not a position: json: unknown field "file"`},
	}
	for _, c := range cases {
		r, err := c.src.Open(context.Background(), c.part, []byte(c.pos))
		if err == nil {
			r.Close()
			t.Errorf("partition %d at %s: no error", c.part, c.pos)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("partition %d at %s:\n%v\nwant it to say\n%s", c.part, c.pos, err, c.want)
		}
	}
	// A generator position at the partition's last row is its end, not an error.
	r, err := g.Open(context.Background(), 0, []byte(`{"v":1,"seed":7,"partition":0,"partitions":2,"start":"2024-01-01T00:00:00Z","rows":500}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("Read at the end: %v", err)
	}
}

// A damaged file resumes like any other: the rows before the damage and its one dead letter
// come once, whether the reader was checkpointed before the damage, right after it, or not.
func TestFileSourceResumesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Accounts, cfg.Merchants = 4000, 1000, 200
	for _, name := range []string{"tx.jsonl.gz", "tx.csv.zst"} {
		t.Run(name, func(t *testing.T) {
			path := writeGenerated(t, dir, name, cfg, format.WriteOptions{})
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()*2/3); err != nil {
				t.Fatal(err)
			}
			s, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 300})
			if err != nil {
				t.Fatal(err)
			}
			rows, dead := checkResume(t, s, 0)
			if rows == 0 || rows >= 4000 || dead != 1 {
				t.Fatalf("%d rows and %d dead letters; want some rows and the damage", rows, dead)
			}
		})
	}
	t.Run("tx.parquet", func(t *testing.T) {
		path := writeGenerated(t, dir, "tx.parquet", cfg, format.WriteOptions{RowGroupRows: 1000})
		formattest.DamagePage(t, path, 2, 0)
		s, err := NewFile(path, "", schema.Transaction(), format.ReadOptions{BatchRows: 300})
		if err != nil {
			t.Fatal(err)
		}
		rows, dead := checkResume(t, s, 0)
		if rows != 3000 || dead != 1 {
			t.Fatalf("%d rows and %d dead letters; want 3 of 4 row groups and the damage", rows, dead)
		}
	})
}

// A Parquet file without its footer is one partition whose one dead letter comes once: a
// reader resumed after it has ended.
func TestFileSourceReadsAParquetFileWithoutFooter(t *testing.T) {
	dir := t.TempDir()
	cfg := gen.DefaultConfig()
	cfg.Rows, cfg.Accounts, cfg.Merchants = 2000, 100, 20
	writeGenerated(t, dir, "a.parquet", cfg, format.WriteOptions{RowGroupRows: 1000})
	cut := writeGenerated(t, dir, "b.parquet", cfg, format.WriteOptions{RowGroupRows: 1000})
	st, err := os.Stat(cut)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cut, st.Size()-100); err != nil {
		t.Fatal(err)
	}
	pattern := filepath.Join(dir, "*.parquet")
	if _, err := NewFile(pattern, "", schema.Transaction(), format.ReadOptions{FailOnDamage: true}); !errors.Is(err, format.ErrDamaged) {
		t.Fatalf("NewFile failing on damage: %v", err)
	}
	s, err := NewFile(pattern, "", schema.Transaction(), format.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Partitions() != 2 || s.Size(1) != st.Size()-100 {
		t.Fatalf("%d partitions, the second of %d bytes", s.Partitions(), s.Size(1))
	}
	if rows, _ := checkResumeShort(t, s, 0); rows != 2000 {
		t.Errorf("%d rows of the good file", rows)
	}
	pr := newPartitionRead(t, s)
	r, err := s.Open(context.Background(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	start, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	reads := pr.rest(r, 1)
	if len(reads) != 1 || len(reads[0].dead) != 1 || len(reads[0].rows) != 0 || !strings.Contains(reads[0].dead[0], "b.parquet: row group 0, row 0") {
		t.Fatalf("reads of the damaged file: %+v", reads)
	}
	for _, c := range []struct {
		pos  string
		dead int
	}{{string(start), 1}, {reads[0].checkpoint, 0}} {
		again, err := s.Open(context.Background(), 1, []byte(c.pos))
		if err != nil {
			t.Fatal(err)
		}
		got := pr.rest(again, 1)
		n := 0
		for _, b := range got {
			n += len(b.dead)
		}
		if n != c.dead {
			t.Errorf("resumed at %s: %d dead letters, want %d", c.pos, n, c.dead)
		}
	}
}

// checkResumeShort reads a partition whole and returns its rows and dead letters.
func checkResumeShort(t *testing.T, s Source, p int) (rows, dead int) {
	t.Helper()
	r, err := s.Open(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range newPartitionRead(t, s).rest(r, p) {
		rows += len(b.rows)
		dead += len(b.dead)
	}
	return rows, dead
}
