package exchange

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"millrace/kafka"
	"millrace/kafka/kafkatest"
	"millrace/schema"
	"millrace/source"
	"millrace/source/sourcetest"
)

// lastOffsets is the offset of the last of recs in each partition, once produced.
func lastOffsets(recs []*kgo.Record) map[int32]int64 {
	out := map[int32]int64{}
	for _, r := range recs {
		out[r.Partition] = max(out[r.Partition], r.Offset)
	}
	return out
}

// TestCommittedRowsComeBackPerKeyGroup produces generated transactions of two units through
// the exchange: an aborted transaction first, then two committed ones. Reading every
// partition the aborted one touched yields, per key group, exactly the committed rows in
// the order they were produced, none of the aborted.
func TestCommittedRowsComeBackPerKeyGroup(t *testing.T) {
	brokers := newCluster(t)
	aborted := encodeAll(t, transactions(t, 9, 2000, 500), "tx/1")
	produceTx(t, brokers, "tx-1", false, aborted)
	first := transactions(t, 1, 3000, 1000)
	second := transactions(t, 2, 3000, 1000)
	committed := append(encodeAll(t, first, "tx/0"), encodeAll(t, second, "tx/1")...)
	produceTx(t, brokers, "tx-0", true, committed)

	want := map[int32][]string{}
	dec, err := newDecoder(schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	for _, r := range committed {
		print, _ := header(r, HeaderSchema)
		rec, err := dec.decode(print, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		want[r.Partition] = append(want[r.Partition], rowLines(t, rec)...)
		rec.Release()
	}
	last := lastOffsets(committed)
	var parts []int32
	for p := range lastOffsets(aborted) {
		if _, ok := last[p]; ok {
			parts = append(parts, p)
		}
	}
	slices.Sort(parts)
	if len(parts) < 10 {
		t.Fatalf("only %d partitions hold both aborted and committed rows", len(parts))
	}
	src := newTestSource(t, brokers, parts, []string{"tx/0", "tx/1"}, 300)
	total := 0
	for i, p := range parts {
		r, err := src.Open(context.Background(), i, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := readPast(t, r, last[p])
		if !slices.Equal(got, want[p]) {
			t.Fatalf("partition %d: %d rows, want the %d committed in order", p, len(got), len(want[p]))
		}
		total += len(got)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rows in %d partitions", total, len(parts))
}

// TestWatermarkWaitsForEveryUpstreamUnit reads one partition while two units send markers,
// one transaction at a time: the watermark is math.MinInt64 until both have spoken, then the
// lower of their latest, never falling when a unit repeats an older one, deaf to a unit it
// does not wait for, and math.MaxInt64 with Ended once both have sent the final watermark.
// A reader opened at a checkpoint has exactly the checkpointed watermark before any Read.
func TestWatermarkWaitsForEveryUpstreamUnit(t *testing.T) {
	brokers := newCluster(t)
	const p = 7
	src := newTestSource(t, brokers, []int32{p}, []string{"tx/0", "tx/1"}, 1000)
	r, err := src.Open(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wr := r.(watermarker)
	if wr.Watermark() != math.MinInt64 {
		t.Fatalf("watermark %d before any marker", wr.Watermark())
	}
	mark := func(from string, wm int64) *kgo.Record { return Markers(testTopic, KeyGroups, from, wm)[p] }
	checkpoints := map[int64][]byte{} // watermark -> a checkpoint taken at it
	steps := []struct {
		markers []*kgo.Record
		want    int64
	}{
		{[]*kgo.Record{mark("tx/0", 100)}, math.MinInt64},
		{[]*kgo.Record{mark("tx/9", 10), mark("tx/1", 50)}, 50},
		{[]*kgo.Record{mark("tx/0", 300), mark("tx/1", 200)}, 200},
		{[]*kgo.Record{mark("tx/1", 150), mark("tx/0", 120)}, 200},
		{[]*kgo.Record{mark("tx/1", 400)}, 300},
		{[]*kgo.Record{mark("tx/0", math.MaxInt64)}, 400},
		{[]*kgo.Record{mark("tx/1", math.MaxInt64)}, math.MaxInt64},
	}
	for i, s := range steps {
		produceTx(t, brokers, "marks", true, s.markers)
		if rows := readPast(t, r, s.markers[len(s.markers)-1].Offset); len(rows) > 0 {
			t.Fatalf("step %d: %d rows from markers", i, len(rows))
		}
		if got := wr.Watermark(); got != s.want {
			t.Fatalf("step %d: watermark %d, want %d", i, got, s.want)
		}
		if ended := wr.Ended(); ended != (s.want == math.MaxInt64) {
			t.Fatalf("step %d: ended %v at watermark %d", i, ended, s.want)
		}
		if checkpoints[s.want], err = r.Checkpoint(); err != nil {
			t.Fatal(err)
		}
	}
	for wm, pos := range checkpoints {
		again, err := newTestSource(t, brokers, []int32{p}, []string{"tx/0", "tx/1"}, 1000).Open(context.Background(), 0, pos)
		if err != nil {
			t.Fatalf("open at the checkpoint of watermark %d: %v", wm, err)
		}
		if got := again.(watermarker).Watermark(); got != wm {
			t.Errorf("opened at the checkpoint of watermark %d: watermark %d", wm, got)
		}
		if err := again.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMarkersKeepTheirPlaceAmongData writes data, a marker, data, a marker and data into one
// partition in one transaction and reads it a batch at a time: each watermark applies only
// once the rows before its marker have been read.
func TestMarkersKeepTheirPlaceAmongData(t *testing.T) {
	brokers := newCluster(t)
	batches := transactions(t, 5, 3000, 1000)
	encoded := make([][]*kgo.Record, len(batches))
	present := map[int32]int{} // key group -> the batches holding rows of it
	for i, b := range batches {
		enc, err := Encode(b, cardKey(t), KeyGroups, testTopic, "tx/0")
		if err != nil {
			t.Fatal(err)
		}
		encoded[i] = enc
		for _, r := range enc {
			present[r.Partition]++
		}
	}
	var p int32 = -1
	for g := range int32(KeyGroups) {
		if present[g] == len(batches) {
			p = g
			break
		}
	}
	var recs []*kgo.Record
	var rows []int
	for i, enc := range encoded {
		for _, r := range enc {
			if r.Partition == p {
				recs = append(recs, r)
				rows = append(rows, len(rowsOf(t, r)))
			}
		}
		if len(rows) != i+1 {
			t.Fatalf("batch %d has no row of key group %d", i, p)
		}
		if i < len(batches)-1 {
			recs = append(recs, Markers(testTopic, KeyGroups, "tx/0", int64(100*(i+1)))[p])
		}
	}
	produceTx(t, brokers, "tx-0", true, recs)

	src := newTestSource(t, brokers, []int32{p}, []string{"tx/0"}, 1) // a Read stops at the first data record
	r, err := src.Open(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, want := range []int64{math.MinInt64, 100, 200} {
		got := readPast(t, r, recs[2*i].Offset)
		if len(got) != rows[i] {
			t.Fatalf("read %d: %d rows, want %d", i, len(got), rows[i])
		}
		if wm := r.(watermarker).Watermark(); wm != want {
			t.Fatalf("after the rows of batch %d: watermark %d, want %d", i, wm, want)
		}
	}
}

// rowsOf decodes a data record's rows.
func rowsOf(t testing.TB, r *kgo.Record) []string {
	t.Helper()
	dec, err := newDecoder(schema.Transaction())
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	print, _ := header(r, HeaderSchema)
	rec, err := dec.decode(print, r.Value)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	return rowLines(t, rec)
}

// TestTrimmedPositionIsAnError trims a partition past a reader's checkpoint: opening there
// is an error naming the topic, partition and both offsets, and the partition's log starts
// where Trim said.
func TestTrimmedPositionIsAnError(t *testing.T) {
	brokers := newCluster(t)
	mark := func(wm int64) *kgo.Record { return Markers(testTopic, KeyGroups, "tx/0", wm)[3] }
	first := []*kgo.Record{mark(0)}
	produceTx(t, brokers, "tx-0", true, first)
	src := newTestSource(t, brokers, []int32{3}, []string{"tx/0"}, 100)
	r, err := src.Open(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	readPast(t, r, first[0].Offset)
	pos, err := r.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	ms := []*kgo.Record{mark(1), mark(2), mark(3)}
	produceTx(t, brokers, "tx-0", true, ms)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := Trim(context.Background(), adm, testTopic, map[int32]int64{3: ms[1].Offset}); err != nil {
		t.Fatal(err)
	}
	starts, err := adm.ListStartOffsets(context.Background(), testTopic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup(testTopic, 3); o.Offset != ms[1].Offset {
		t.Fatalf("log start %d after trimming below %d", o.Offset, ms[1].Offset)
	}
	_, err = src.Open(context.Background(), 0, pos)
	want := fmt.Sprintf("exchange %s/3: the checkpoint resumes at offset %d, but the partition's log starts at offset %d", testTopic, first[0].Offset+1, ms[1].Offset)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("open below the log start: %v, want %q", err, want)
	}
	if err := Trim(context.Background(), adm, testTopic, map[int32]int64{3: 1 << 40}); err == nil || !strings.Contains(err.Error(), testTopic+"/3 below offset 1099511627776") {
		t.Fatalf("trim past the end: %v", err)
	}
}

// TestEnsureMakesOnePartitionPerKeyGroup creates an exchange topic, accepts it as it is the
// second time, and refuses a topic of another partition count, naming both counts.
func TestEnsureMakesOnePartitionPerKeyGroup(t *testing.T) {
	brokers := kafkatest.Cluster(t, "narrow", 8)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for range 2 {
		if err := Ensure(context.Background(), adm, testTopic, KeyGroups); err != nil {
			t.Fatal(err)
		}
	}
	details, err := adm.ListTopics(context.Background(), testTopic)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(details[testTopic].Partitions); n != KeyGroups {
		t.Fatalf("%d partitions", n)
	}
	err = Ensure(context.Background(), adm, "narrow", KeyGroups)
	if err == nil || !strings.Contains(err.Error(), "exchange topic narrow has 8 partitions, want one per key group, 256") {
		t.Fatalf("a topic of 8 partitions: %v", err)
	}
}

// TestNewSourceChecksItsOptions refuses options that cannot work, each saying why.
func TestNewSourceChecksItsOptions(t *testing.T) {
	brokers := newCluster(t)
	base := SourceOptions{Conn: kafka.Conn{Brokers: brokers}, Topic: testTopic, Partitions: []int32{1}, Schema: schema.Transaction(), Upstream: []string{"tx/0"}}
	cases := map[string]func(*SourceOptions){
		"no topic":                func(o *SourceOptions) { o.Topic = "" },
		"topic .* does not exist": func(o *SourceOptions) { o.Topic = "absent" },
		"no partition 256":        func(o *SourceOptions) { o.Partitions = []int32{0, 256} },
		"partition 1 given twice": func(o *SourceOptions) { o.Partitions = []int32{1, 2, 1} },
		"no upstream units":       func(o *SourceOptions) { o.Upstream = nil },
		`"tx/0" given twice`:      func(o *SourceOptions) { o.Upstream = []string{"tx/0", "tx/0"} },
		"no schema":               func(o *SourceOptions) { o.Schema = nil },
	}
	for _, want := range slices.Sorted(maps.Keys(cases)) {
		o := base
		cases[want](&o)
		_, err := NewSource(context.Background(), o)
		if err == nil {
			t.Errorf("%s: no error", want)
			continue
		}
		if ok := matches(want, err.Error()); !ok {
			t.Errorf("%s: %v", want, err)
		}
	}
	if _, err := NewSource(context.Background(), base); err != nil {
		t.Fatal(err)
	}
}

// TestSourceConforms runs the conformance suite over four key groups of an exchange: three
// holding the rows of two units with markers between, one holding only markers, read in
// batches of at least 40 rows.
func TestSourceConforms(t *testing.T) {
	brokers := newCluster(t)
	var recs []*kgo.Record
	for i, b := range transactions(t, 6, 20000, 2000) {
		enc, err := Encode(b, cardKey(t), KeyGroups, testTopic, fmt.Sprintf("tx/%d", i%2))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(append(recs, enc...), Markers(testTopic, KeyGroups, fmt.Sprintf("tx/%d", i%2), int64(i))...)
	}
	parts := []int32{3, 17, 200, 5}
	per := make([]int64, len(parts))
	for _, r := range recs {
		if i := slices.Index(parts[:3], r.Partition); i >= 0 && len(r.Value) > 0 {
			per[i] += int64(len(rowsOf(t, r)))
		}
	}
	var kept []*kgo.Record
	for _, r := range recs {
		if r.Partition != parts[3] || len(r.Value) == 0 {
			kept = append(kept, r)
		}
	}
	produceTx(t, brokers, "tx", true, kept)
	sourcetest.Run(t, sourcetest.Subject{
		New: func(t *testing.T) source.Source {
			return newTestSource(t, brokers, parts, []string{"tx/0", "tx/1"}, 40)
		},
		PerPartition: per,
		Waits:        true,
	})
}
