package gen

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestPutTxID(t *testing.T) {
	nums := []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 12345, 99999, 100000, 1234567, math.MaxInt32, 1 << 40, math.MaxInt64}
	r := newRNG(1, streamTraffic, 0)
	for range 10_000 {
		nums = append(nums, int64(r.next()>>uint(1+r.intn(63))))
	}
	for _, n := range nums {
		buf := make([]byte, maxTxIDLen)
		l := putTxID(buf, n)
		want := "t" + strconv.FormatInt(n, 10)
		if got := string(buf[:l]); got != want {
			t.Fatalf("putTxID(%d) = %q, want %q", n, got, want)
		}
		if got := string(appendTxID(nil, n)); got != want {
			t.Fatalf("appendTxID(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTxNumbersInterleave(t *testing.T) {
	seen := map[int64]bool{}
	for p := range 5 {
		for seq := range int64(100) {
			n := txNumber(seq, p, 5)
			if seen[n] {
				t.Fatalf("partition %d seq %d repeats number %d", p, seq, n)
			}
			seen[n] = true
		}
	}
}

func TestIDTable(t *testing.T) {
	for _, n := range []int{1, 10, 1000, 123_456} {
		r := newRNG(2, streamWorld, 0)
		tab := newIDTable('x', n, &r)
		seen := make(map[string]bool, n)
		for i := range n {
			id := string(tab.get(int32(i)))
			if !strings.HasPrefix(id, "x") || seen[id] || len(id) > tab.maxLen {
				t.Fatalf("n=%d: identifier %d is %q (max %d)", n, i, id, tab.maxLen)
			}
			seen[id] = true
			num, err := strconv.Atoi(id[1:])
			if err != nil || num < 0 || num >= n {
				t.Fatalf("n=%d: identifier %q is not x0..x%d", n, id, n-1)
			}
			if tab.words != nil && tab.words[i] != packWord([]byte(id))|uint64(len(id))<<56 {
				t.Fatalf("n=%d: word of %q differs", n, id)
			}
		}
		if n >= 1000 && string(tab.get(0)) == "x0" && string(tab.get(1)) == "x1" {
			t.Errorf("n=%d: identifiers are not shuffled", n)
		}
	}
	// Identifiers go into a column the same way whether they are stored as words or, when
	// longer than 8 bytes, copied from the slab.
	r := newRNG(2, streamWorld, 0)
	tab := newIDTable('x', 5000, &r)
	slab := tab
	slab.words = nil
	mem := memory.DefaultAllocator
	a, b := newStringColumn(mem, 5000, 5000*tab.maxLen), newStringColumn(mem, 5000, 5000*tab.maxLen)
	for i := range int32(5000) {
		a.appendID(int(i), &tab, i)
		b.appendID(int(i), &slab, i)
	}
	if tab.words == nil || a.pos != b.pos || string(a.data[:a.pos]) != string(b.data[:b.pos]) || !slices.Equal(a.off, b.off) {
		t.Error("identifiers copied as words and from the slab differ")
	}
	a.finish(5000).Release()
	b.finish(5000).Release()
}
