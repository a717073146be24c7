package gen

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// lateRows returns, for each row in delivery order, whether it arrived more than bound behind
// the latest event time delivered before it.
func lateRows(rows []txRow, bound time.Duration) []bool {
	late := make([]bool, len(rows))
	maxSeen := int64(math.MinInt64)
	for i, r := range rows {
		late[i] = maxSeen != math.MinInt64 && r.ts < maxSeen-bound.Milliseconds()
		maxSeen = max(maxSeen, r.ts)
	}
	return late
}

func sortedByID(rows []txRow) []txRow {
	s := slices.Clone(rows)
	slices.SortFunc(s, func(a, b txRow) int { return strings.Compare(a.id, b.id) })
	return s
}

func TestDisorderBounded(t *testing.T) {
	cfg := smallConfig()
	cfg.FraudRate = 0.01
	ordered, _ := generate(t, cfg, 8192)
	cfg.Disorder = 2 * time.Second
	rows, st := generate(t, cfg, 8192)

	backwards := 0
	for i, late := range lateRows(rows, cfg.Disorder) {
		if late {
			t.Fatalf("row %d (%s) arrived more than %s behind the newest row before it", i, rows[i].id, cfg.Disorder)
		}
		if i > 0 && rows[i].ts < rows[i-1].ts {
			backwards++
		}
	}
	if st.Late != 0 || st.Dups != 0 {
		t.Fatalf("stats count %d late rows and %d duplicates", st.Late, st.Dups)
	}
	if backwards < len(rows)/10 {
		t.Errorf("only %d of %d rows arrived before an older one: hardly disordered", backwards, len(rows))
	}
	// Disorder changes the order, never the rows: the same transactions, apart from the few
	// near the Rows bound that were still held back.
	a, b := sortedByID(ordered), sortedByID(rows)
	common := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch c := strings.Compare(a[i].id, b[j].id); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if a[i] != b[j] {
				t.Fatalf("transaction %s differs with disorder: %+v vs %+v", a[i].id, a[i], b[j])
			}
			common++
			i++
			j++
		}
	}
	if common < len(rows)-len(rows)/50 {
		t.Errorf("only %d of %d rows are common to the ordered and disordered streams", common, len(rows))
	}
}

func TestLateRows(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 300_000
	cfg.Disorder = time.Second
	cfg.LateRate = 0.01
	cfg.LateMax = 2 * time.Minute
	rows, st := generate(t, cfg, 8192)
	late := lateRows(rows, cfg.Disorder)
	n := 0
	maxSeen := int64(0)
	for i, l := range late {
		if l {
			n++
			// Late rows arrive within LateMax beyond the bound.
			if behind := time.Duration(maxSeen-rows[i].ts) * time.Millisecond; behind > cfg.LateMax+2*cfg.Disorder+time.Second {
				t.Fatalf("row %s arrived %s behind", rows[i].id, behind)
			}
		}
		maxSeen = max(maxSeen, rows[i].ts)
	}
	if int64(n) != st.Late {
		t.Fatalf("%d rows arrived behind the bound, stats say %d", n, st.Late)
	}
	if f := float64(n) / float64(len(rows)); math.Abs(f-cfg.LateRate) > 0.15*cfg.LateRate {
		t.Errorf("late fraction %.4f, want %.4f", f, cfg.LateRate)
	}
	ids := map[string]bool{}
	for _, r := range rows {
		if ids[r.id] {
			t.Fatalf("tx_id %s delivered twice without duplicates configured", r.id)
		}
		ids[r.id] = true
	}
}

func TestDuplicates(t *testing.T) {
	cfg := smallConfig()
	cfg.Rows = 300_000
	cfg.Disorder = 500 * time.Millisecond
	cfg.DupRate = 0.02
	rows, st := generate(t, cfg, 8192)
	first := map[string]txRow{}
	dups := 0
	for _, r := range rows {
		if f, ok := first[r.id]; ok {
			dups++
			if f != r {
				t.Fatalf("copy of %s differs: %+v vs %+v", r.id, f, r)
			}
			continue
		}
		first[r.id] = r
	}
	if int64(dups) != st.Dups {
		t.Fatalf("%d repeated tx_ids, stats say %d duplicates", dups, st.Dups)
	}
	if f := float64(dups) / float64(len(first)); math.Abs(f-cfg.DupRate) > 0.1*cfg.DupRate {
		t.Errorf("%.4f of transactions delivered twice, want %.4f", f, cfg.DupRate)
	}
	// Copies stay within the disorder bound.
	for i, late := range lateRows(rows, cfg.Disorder) {
		if late {
			t.Fatalf("row %d (%s) is late", i, rows[i].id)
		}
	}
	if st.Late != 0 {
		t.Fatalf("stats count %d late rows", st.Late)
	}

	// Without disorder a copy follows its original at once.
	cfg.Disorder = 0
	rows, st = generate(t, cfg, 8192)
	for i, r := range rows {
		if i > 0 && r.ts < rows[i-1].ts {
			t.Fatalf("row %d goes back in time without disorder", i)
		}
	}
	if st.Dups == 0 {
		t.Fatal("no duplicates without disorder")
	}
}

// BenchmarkDelivery is BenchmarkGenerate with every row going through delivery: 5s of
// disorder, 1% late rows and 1% duplicates.
func BenchmarkDelivery(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Disorder, cfg.LateRate, cfg.DupRate = 5*time.Second, 0.01, 0.01
	benchmarkGenerate(b, cfg)
}
