package expr

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPieceMemoAgreesWithItsFunction looks up more distinct strings than the memo has slots,
// from several goroutines at once, twice each: every answer equals the function's; and the
// function runs far less often than it is asked when strings repeat.
func TestPieceMemoAgreesWithItsFunction(t *testing.T) {
	// What follows "id=", if anything does: cheap, so the test is about the memo.
	value := func(s []byte) ([]byte, bool) {
		i := bytes.Index(s, []byte("id="))
		if i < 0 {
			return nil, false
		}
		return s[i+3:], true
	}
	var calls atomic.Int64
	pick := func(s []byte) ([]byte, bool) {
		calls.Add(1)
		return value(s)
	}
	m := newPieceMemo(pick)
	inputs := make([][]byte, 2*memoSlots)
	for i := range inputs {
		if i%7 == 0 {
			inputs[i] = fmt.Appendf(nil, "no match %d", i)
		} else {
			inputs[i] = fmt.Appendf(nil, "https://example.com/x?q=1&id=%d", i)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 2 {
				for i := range inputs {
					in := inputs[(i+w*1000)%len(inputs)]
					got, ok := m.get(in)
					want, wantOK := value(in)
					if ok != wantOK || !bytes.Equal(got, want) {
						errs <- fmt.Errorf("round %d: %q gave %q %v", round, in, got, ok)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	few := newPieceMemo(pick)
	calls.Store(0)
	for range 1000 {
		for _, in := range inputs[:100] {
			few.get(in)
		}
	}
	if n := calls.Load(); n > 200 { // 100 strings, a slot shared now and then
		t.Errorf("100 strings asked 1000 times each ran the function %d times", n)
	}
}

// BenchmarkRegexpExtract extracts a URL parameter from a column of 4096 URLs drawn from 64
// (memo hits) and from 4096 distinct ones (misses).
func BenchmarkRegexpExtract(b *testing.B) {
	for _, distinct := range []int{64, 4096} {
		urls := make([]any, 4096)
		for i := range urls {
			urls[i] = fmt.Sprintf("https://www.nexmark.com/a/b/item.htm?query=1&channel_id=%d", (i%distinct)*7919)
		}
		rec := batch(b, col{"url", "string", urls})
		e, err := CompileString("regexp_extract(url, '(&|^)channel_id=([^&]*)', 2)", rec.Schema())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("distinct=%d", distinct), func(b *testing.B) {
			for b.Loop() {
				a, err := e.Eval(rec)
				if err != nil {
					b.Fatal(err)
				}
				a.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*int(rec.NumRows())), "ns/row")
		})
		rec.Release()
	}
}

// TestPieceMemoKeepsTenThousandStrings asks for 10,000 distinct strings (as many as the
// Nexmark bids' URLs) round after round: after the first, nearly every answer comes from the
// memo. With one slot per string, about a seventh of them would share a slot and drive each
// other out every round.
func TestPieceMemoKeepsTenThousandStrings(t *testing.T) {
	var calls int
	m := newPieceMemo(func(s []byte) ([]byte, bool) { calls++; return s, true })
	inputs := make([][]byte, 10_000)
	for i := range inputs {
		inputs[i] = fmt.Appendf(nil, "https://www.nexmark.com/a/item.htm?query=1&channel_id=%d", i)
	}
	for round := range 4 {
		calls = 0
		for _, in := range inputs {
			if got, _ := m.get(in); !bytes.Equal(got, in) {
				t.Fatalf("round %d: %q gave %q", round, in, got)
			}
		}
		if round > 0 && calls > len(inputs)/50 {
			t.Errorf("round %d ran the function for %d of %d strings asked again", round, calls, len(inputs))
		}
	}
}
