package exchange

import (
	"context"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestUnitSetsNameRangesAndReadBack names sets of partitions as ranges and reads every
// unit back, and refuses sets that are not ascending or not numbers.
func TestUnitSetsNameRangesAndReadBack(t *testing.T) {
	for _, c := range []struct {
		parts []int32
		want  string
	}{
		{[]int32{3}, "k/3"},
		{[]int32{5, 0, 1, 2, 7, 8, 2}, "k/0-2,5,7-8"},
		{[]int32{255, 254}, "k/254-255"},
	} {
		got := Units("k", c.parts)
		if got != c.want {
			t.Errorf("Units(%v) = %q, want %q", c.parts, got, c.want)
		}
		units, err := expandUnits(got)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, p := range slices.Compact(slices.Sorted(slices.Values(c.parts))) {
			want = append(want, "k/"+itoa(p))
		}
		if !slices.Equal(units, want) {
			t.Errorf("%s expands to %v, want %v", got, units, want)
		}
	}
	for _, one := range []string{"u", "tx/3", "tx-dead/12"} {
		if units, err := expandUnits(one); err != nil || !slices.Equal(units, []string{one}) {
			t.Errorf("%q expands to %v (%v), want itself", one, units, err)
		}
	}
	for _, c := range []struct{ set, want string }{
		{"k/3-1", "out of order"},
		{"k/1,1", "out of order"},
		{"k/1,x", `partition "x" is not a number`},
		{"k/1-", `partition "" is not a number`},
		{"/1,2", "no topic"},
		{"k/0-70000", "more than 65536 partitions"},
	} {
		if _, err := expandUnits(c.set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.set, err, c.want)
		}
	}
}

func itoa(p int32) string { return strconv.Itoa(int(p)) }

// TestPositionsKeepKeyGroupWatermarksCompact writes the watermarks of 256 key groups held
// by two workers as two sets and reads every one back.
func TestPositionsKeepKeyGroupWatermarksCompact(t *testing.T) {
	wms := map[string]int64{"tx/0": 7}
	for g := range int32(256) {
		wm := int64(1000)
		if g >= 128 {
			wm = 2000
		}
		wms[Units("millrace.p.unique", []int32{g})] = wm
	}
	pos, err := encodePosition(testTopic, 3, 10, wms)
	if err != nil {
		t.Fatal(err)
	}
	want := `"watermarks":{"millrace.p.unique/0-127":1000,"millrace.p.unique/128-255":2000,"tx/0":7}`
	if !strings.Contains(string(pos), want) {
		t.Errorf("position %s, want it to hold %s", pos, want)
	}
	_, got, err := decodePosition(pos, testTopic, 3)
	if err != nil || !maps.Equal(got, wms) {
		t.Fatalf("read back %d watermarks (%v), want %d", len(got), err, len(wms))
	}
}

// TestMarkersOfKeyGroupSetsMoveTheirUnits reads markers of a keyed upstream stage whose
// key groups two workers own, then three after a rebalance: the reader's watermark is the
// least over the 256 key groups, a key group taken over with an older watermark holds it
// where it was, and a reader opened at a checkpoint has the same watermark.
func TestMarkersOfKeyGroupSetsMoveTheirUnits(t *testing.T) {
	brokers := newCluster(t)
	const p = 5
	const up = "millrace.p.unique"
	var upstream []string
	for g := range int32(256) {
		upstream = append(upstream, Units(up, []int32{g}))
	}
	src := newTestSource(t, brokers, []int32{p}, upstream, 1000)
	r, err := src.Open(context.Background(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wr := r.(watermarker)
	span := func(lo, hi int32) []int32 {
		var out []int32
		for g := lo; g <= hi; g++ {
			out = append(out, g)
		}
		return out
	}
	mark := func(lo, hi int32, wm int64) *kgo.Record {
		return Markers(testTopic, KeyGroups, Units(up, span(lo, hi)), wm)[p]
	}
	var pos []byte
	for i, s := range []struct {
		markers []*kgo.Record
		want    int64
	}{
		{[]*kgo.Record{mark(0, 127, 100)}, math.MinInt64},
		{[]*kgo.Record{mark(128, 255, 80)}, 80},
		{[]*kgo.Record{mark(0, 127, 300), mark(128, 255, 250)}, 250},
		// a third worker takes 170-255 over from a checkpoint at 90: they stay at 250
		{[]*kgo.Record{mark(0, 84, 400), mark(85, 169, 90), mark(170, 255, 90)}, 250},
		{[]*kgo.Record{mark(85, 169, 500), mark(170, 255, 260)}, 260},
		{[]*kgo.Record{mark(0, 255, math.MaxInt64)}, math.MaxInt64},
	} {
		produceTx(t, brokers, "marks", true, s.markers)
		readPast(t, r, s.markers[len(s.markers)-1].Offset)
		if got := wr.Watermark(); got != s.want {
			t.Fatalf("step %d: watermark %d, want %d", i, got, s.want)
		}
		if i == 4 {
			if pos, err = r.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !wr.Ended() {
		t.Error("every key group sent the final watermark, yet the reader has not ended")
	}
	again, err := newTestSource(t, brokers, []int32{p}, upstream, 1000).Open(context.Background(), 0, pos)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := again.(watermarker).Watermark(); got != 260 {
		t.Errorf("opened at the checkpoint of watermark 260: %d", got)
	}
}
