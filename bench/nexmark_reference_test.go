package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"millrace/engine"
	"millrace/nexmark"
	"millrace/op"
	"millrace/plan"
)

// The Nexmark queries are checked row for row: each query's spec runs
// on the engine, its sinks replaced by a collector, and what it writes must equal what a
// reference computes here, event by event, from the generator's rows, for several seeds and
// at parallelism 1 to 8. Rows are rendered as their columns joined by |: integers and
// timestamps (in ms) in decimal, strings as they are, floats in Go's shortest form, decimals
// with every digit of their scale, "-" for NULL.

type nxBid struct {
	auction, bidder, price int64
	channel, url           string
	t                      int64
	extra                  string
}

type nxAuction struct {
	id, seller, category int64
	item, desc           string
	initial, reserve     int64
	t, expires           int64
	extra                string
}

type nxPerson struct {
	id                       int64
	name, city, state, extra string
	t                        int64
}

// nxEvents holds every event of a Nexmark run, each kind in event-number order.
type nxEvents struct {
	bids     []nxBid
	auctions []nxAuction
	people   []nxPerson
}

// generateNexmark reads every event of in from the generator, one kind at a time.
func generateNexmark(t *testing.T, in NexmarkInput) nxEvents {
	t.Helper()
	cfg := nexmark.DefaultConfig()
	cfg.Events, cfg.Seed, cfg.FirstEventRate = in.Events, in.Seed, in.Rate
	var ev nxEvents
	for _, kind := range []nexmark.Kind{nexmark.Bids, nexmark.Auctions, nexmark.Persons} {
		g, err := nexmark.NewGenerator(cfg, kind)
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := g.Next(4096)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			i64 := func(c int) *array.Int64 { return rec.Column(c).(*array.Int64) }
			str := func(c int) *array.String { return rec.Column(c).(*array.String) }
			ts := func(c int) *array.Timestamp { return rec.Column(c).(*array.Timestamp) }
			for i := range int(rec.NumRows()) {
				switch kind {
				case nexmark.Bids:
					ev.bids = append(ev.bids, nxBid{i64(nexmark.BidAuction).Value(i), i64(nexmark.BidBidder).Value(i), i64(nexmark.BidPrice).Value(i),
						str(nexmark.BidChannel).Value(i), str(nexmark.BidURL).Value(i), int64(ts(nexmark.BidDateTime).Value(i)), str(nexmark.BidExtra).Value(i)})
				case nexmark.Auctions:
					ev.auctions = append(ev.auctions, nxAuction{i64(nexmark.AuctionID).Value(i), i64(nexmark.AuctionSeller).Value(i), i64(nexmark.AuctionCategory).Value(i),
						str(nexmark.AuctionItemName).Value(i), str(nexmark.AuctionDescription).Value(i), i64(nexmark.AuctionInitialBid).Value(i), i64(nexmark.AuctionReserve).Value(i),
						int64(ts(nexmark.AuctionDateTime).Value(i)), int64(ts(nexmark.AuctionExpires).Value(i)), str(nexmark.AuctionExtra).Value(i)})
				case nexmark.Persons:
					ev.people = append(ev.people, nxPerson{i64(nexmark.PersonID).Value(i), str(nexmark.PersonName).Value(i), str(nexmark.PersonCity).Value(i),
						str(nexmark.PersonState).Value(i), str(nexmark.PersonExtra).Value(i), int64(ts(nexmark.PersonDateTime).Value(i))})
				}
			}
			rec.Release()
		}
	}
	return ev
}

// row renders values as a reference row.
func row(vals ...any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "|")
}

// collector is a sink that renders the rows it receives. A changelog (rows whose first
// column is _op) it applies to table instead, counting each row up on +I and +U and down on
// -U and -D.
type collector struct {
	op.Base
	mu    *sync.Mutex
	rows  *[]string
	table map[string]int
}

func (c *collector) Process(_ int, rec arrow.RecordBatch, _ op.Collector) error {
	defer rec.Release()
	var out []string
	for i := range int(rec.NumRows()) {
		parts := make([]string, rec.NumCols())
		for k, col := range rec.Columns() {
			if col.IsNull(i) {
				parts[k] = "-"
				continue
			}
			switch a := col.(type) {
			case *array.Int64:
				parts[k] = strconv.FormatInt(a.Value(i), 10)
			case *array.Timestamp:
				parts[k] = strconv.FormatInt(int64(a.Value(i)), 10)
			case *array.String:
				parts[k] = strings.Clone(a.Value(i)) // the batch's memory goes back to the generator
			case *array.Float64:
				parts[k] = strconv.FormatFloat(a.Value(i), 'g', -1, 64)
			case *array.Decimal128:
				parts[k] = a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
			default:
				parts[k] = col.ValueStr(i)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if rec.Schema().Field(0).Name != "_op" {
		*c.rows = append(*c.rows, out...)
		return nil
	}
	for _, r := range out {
		change, rest, _ := strings.Cut(r, "|")
		switch change {
		case "+I", "+U":
			c.table[rest]++
		case "-U", "-D":
			c.table[rest]--
		default:
			return fmt.Errorf("change %q", change)
		}
	}
	return nil
}

// scribbler is a nexmark.Recycler that overwrites each buffer as it comes back, so that a
// step still reading a batch it has released (or never retained) reads junk at once rather
// than, maybe, the rows of a later batch.
type scribbler struct{ *nexmark.Recycler }

func (s scribbler) Free(b []byte) {
	b = b[:cap(b)]
	for i := range b {
		b[i] = 0xa5
	}
	s.Recycler.Free(b)
}

// runQuery runs query q over in at parallelism p, its generators recycling their buffers as
// the benchmark's do (with a scribbler), and returns the rows its sinks received, sorted.
func runQuery(t *testing.T, q string, in NexmarkInput, p int) []string {
	t.Helper()
	return runQueryAllocating(t, q, in, p, func() memory.Allocator { return scribbler{nexmark.NewRecycler()} })
}

// runQueryAllocating is runQuery with the generators' buffers from alloc's allocators, or
// fresh Go memory when alloc is nil.
func runQueryAllocating(t *testing.T, q string, in NexmarkInput, p int, alloc func() memory.Allocator) []string {
	t.Helper()
	pl, err := NexmarkPlan(q, in, p)
	if err != nil {
		t.Fatal(err)
	}
	if alloc != nil {
		recycleGeneratorBuffers(pl, alloc)
	}
	var mu sync.Mutex
	var rows []string
	table := map[string]int{}
	for i, st := range pl.Steps {
		if st.Kind == plan.KindSink {
			pl.Graph.Nodes[i].Operator = func(int) (op.Operator, error) { return &collector{mu: &mu, rows: &rows, table: table}, nil }
		}
	}
	if _, err := engine.Run(context.Background(), pl.Graph, engine.DefaultOptions()); err != nil {
		t.Fatalf("%s at parallelism %d: %v", q, p, err)
	}
	for r, n := range table {
		if n < 0 || n > 1 {
			t.Fatalf("%s at parallelism %d: applying the changelog leaves row %s %d times", q, p, r, n)
		}
		if n == 1 {
			rows = append(rows, r)
		}
	}
	slices.Sort(rows)
	return rows
}

// nexmarkReferences computes, per query, the rows it must write.
var nexmarkReferences = map[string]func(t *testing.T, ev nxEvents) []string{
	"q0":  referenceQ0,
	"q1":  referenceQ1,
	"q2":  referenceQ2,
	"q3":  referenceQ3,
	"q4":  referenceQ4,
	"q5":  referenceQ5,
	"q6":  referenceQ6,
	"q7":  referenceQ7,
	"q8":  referenceQ8,
	"q9":  referenceQ9,
	"q10": referenceQ10,
	"q11": referenceQ11,
	"q13": referenceQ13,
	"q14": referenceQ14,
	"q15": referenceQ15,
	"q16": referenceQ16,
	"q17": referenceQ17,
	"q18": referenceQ18,
	"q19": referenceQ19,
	"q20": referenceQ20,
	"q21": referenceQ21,
	"q22": referenceQ22,
}

const tenMinutes = int64(10 * time.Minute / time.Millisecond)

// referenceQ0 passes every bid through.
func referenceQ0(_ *testing.T, ev nxEvents) []string {
	var out []string
	for _, b := range ev.bids {
		out = append(out, row(b.auction, b.bidder, b.price, b.channel, b.url, b.t, b.extra))
	}
	return out
}

// referenceQ1 converts every bid's price to euros at 0.908, a decimal of scale 3.
func referenceQ1(_ *testing.T, ev nxEvents) []string {
	var out []string
	for _, b := range ev.bids {
		euros := b.price * 908
		out = append(out, row(b.auction, b.bidder, fmt.Sprintf("%d.%03d", euros/1000, euros%1000), b.t))
	}
	return out
}

// referenceQ2 keeps the bids on every 123rd auction.
func referenceQ2(_ *testing.T, ev nxEvents) []string {
	var out []string
	for _, b := range ev.bids {
		if b.auction%123 == 0 {
			out = append(out, row(b.auction, b.price))
		}
	}
	return out
}

// referenceQ5 counts each auction's bids in 10-second windows starting every 2 seconds and
// keeps, per window, the auctions with the most.
func referenceQ5(_ *testing.T, ev nxEvents) []string {
	const size, every = 10_000, 2_000
	type window struct{ start, auction int64 }
	counts := map[window]int64{}
	for _, b := range ev.bids {
		for start := b.t - b.t%every; start > b.t-size; start -= every {
			counts[window{start, b.auction}]++
		}
	}
	most := map[int64]int64{}
	for w, n := range counts {
		most[w.start] = max(most[w.start], n)
	}
	var out []string
	for w, n := range counts {
		if n == most[w.start] {
			out = append(out, row(w.auction, w.start, w.start+size, n))
		}
	}
	return out
}

// referenceQ7 keeps, per 10-second window, the bids of its highest price.
func referenceQ7(_ *testing.T, ev nxEvents) []string {
	const size = 10_000
	highest := map[int64]int64{}
	for _, b := range ev.bids {
		end := b.t - b.t%size + size
		highest[end] = max(highest[end], b.price)
	}
	var out []string
	for _, b := range ev.bids {
		if end := b.t - b.t%size + size; b.price == highest[end] {
			out = append(out, row(b.auction, b.bidder, b.price, b.t, end))
		}
	}
	return out
}

// referenceQ3 pairs every auction of category 10 with its seller, when the seller lives in
// OR, ID or CA. The spec's join keeps rows 10 minutes; the reference checks that this loses
// no pair here, the seller being one of the latest people.
func referenceQ3(t *testing.T, ev nxEvents) []string {
	people := map[int64]nxPerson{}
	for _, p := range ev.people {
		people[p.id] = p
	}
	var out []string
	for _, a := range ev.auctions {
		p, ok := people[a.seller]
		if a.category != 10 || !ok || (p.state != "OR" && p.state != "ID" && p.state != "CA") {
			continue
		}
		if d := a.t - p.t; d > tenMinutes || d < -tenMinutes {
			t.Fatalf("auction %d is %d ms after its seller %d, beyond the join's TTL", a.id, d, p.id)
		}
		out = append(out, row(p.name, p.city, p.state, a.id))
	}
	return out
}

// referenceQ4 averages per category the highest price of each auction's bids within its
// lifetime (from its creation to its expiry, both included).
func referenceQ4(_ *testing.T, ev nxEvents) []string {
	auctions := map[int64]nxAuction{}
	for _, a := range ev.auctions {
		auctions[a.id] = a
	}
	highest := map[int64]int64{}
	for _, b := range ev.bids {
		a, ok := auctions[b.auction]
		if !ok || b.t < a.t || b.t > a.expires {
			continue
		}
		if p, ok := highest[a.id]; !ok || b.price > p {
			highest[a.id] = b.price
		}
	}
	type total struct{ sum, n int64 }
	categories := map[int64]total{}
	for id, p := range highest {
		c := categories[auctions[id].category]
		categories[auctions[id].category] = total{c.sum + p, c.n + 1}
	}
	var out []string
	for c, tot := range categories {
		out = append(out, row(c, strconv.FormatFloat(float64(tot.sum)/float64(tot.n), 'g', -1, 64)))
	}
	return out
}

// referenceQ6 gives each auction's winning bid (its highest within its lifetime) the
// average of its seller's last 11 winning bids up to it, the auctions taken in the order of
// their expiry, those closing at one time by their winning price.
func referenceQ6(t *testing.T, ev nxEvents) []string {
	auctions := map[int64]nxAuction{}
	for _, a := range ev.auctions {
		auctions[a.id] = a
	}
	highest := map[int64]int64{}
	for _, b := range ev.bids {
		a, ok := auctions[b.auction]
		if !ok || b.t < a.t || b.t > a.expires {
			continue
		}
		if p, ok := highest[a.id]; !ok || b.price > p {
			highest[a.id] = b.price
		}
	}
	type win struct{ auction, price, expires int64 }
	bySeller := map[int64][]win{}
	for id, p := range highest {
		a := auctions[id]
		bySeller[a.seller] = append(bySeller[a.seller], win{id, p, a.expires})
	}
	var out []string
	for seller, wins := range bySeller {
		slices.SortFunc(wins, func(x, y win) int {
			if x.expires != y.expires {
				return cmp.Compare(x.expires, y.expires)
			}
			if x.price == y.price {
				t.Fatalf("seller %d: auctions %d and %d close at %d with the same price, in no order the query fixes", seller, x.auction, y.auction, x.expires)
			}
			return cmp.Compare(x.price, y.price)
		})
		for i, w := range wins {
			sum, frame := int64(0), wins[max(0, i-10):i+1]
			for _, f := range frame {
				sum += f.price
			}
			avg := strconv.FormatFloat(float64(sum)/float64(len(frame)), 'g', -1, 64)
			out = append(out, row(w.auction, seller, w.price, w.expires, avg))
		}
	}
	return out
}

// referenceQ8 lists the people who created an auction in the 10-second window they entered
// in, with the window's start.
func referenceQ8(_ *testing.T, ev nxEvents) []string {
	const w = 10_000
	sold := map[[2]int64]bool{}
	for _, a := range ev.auctions {
		sold[[2]int64{a.seller, a.t - a.t%w}] = true
	}
	var out []string
	for _, p := range ev.people {
		if start := p.t - p.t%w; sold[[2]int64{p.id, start}] {
			out = append(out, row(p.id, p.name, start))
		}
	}
	return out
}

// referenceQ10 writes every bid with its day and minute.
func referenceQ10(_ *testing.T, ev nxEvents) []string {
	var out []string
	for _, b := range ev.bids {
		at := time.UnixMilli(b.t).UTC()
		out = append(out, row(b.auction, b.bidder, b.price, b.t, b.extra, at.Format("2006-01-02"), at.Format("15:04")))
	}
	return out
}

// referenceQ11 counts each bidder's bids per session: bids less than 10 s after the
// session's latest one extend it, and a session ends 10 s after its latest bid.
func referenceQ11(_ *testing.T, ev nxEvents) []string {
	const gap = 10_000
	times := map[int64][]int64{}
	for _, b := range ev.bids {
		times[b.bidder] = append(times[b.bidder], b.t)
	}
	var out []string
	for bidder, ts := range times {
		slices.Sort(ts)
		start, last, n := ts[0], ts[0], 0
		for _, x := range ts {
			if x >= last+gap {
				out = append(out, row(bidder, start, last+gap, n))
				start, n = x, 0
			}
			last = x
			n++
		}
		out = append(out, row(bidder, start, last+gap, n))
	}
	return out
}

// referenceQ13 gives every bid the side input's value for its auction modulo 10,000: the
// key written out, as Nexmark's side input is made.
func referenceQ13(_ *testing.T, ev nxEvents) []string {
	var out []string
	for _, b := range ev.bids {
		out = append(out, row(b.auction, b.bidder, b.price, b.t, b.auction%10_000))
	}
	return out
}

// referenceQ14 keeps the bids whose price in euros (0.908 of it, to three decimals exactly)
// lies between 1 and 50 million, with the part of the day of their hour.
func referenceQ14(_ *testing.T, ev nxEvents) []string {
	var out []string
	for _, b := range ev.bids {
		milli := 908 * b.price // the price in euros, in thousandths
		if milli <= 1_000_000_000 || milli >= 50_000_000_000 {
			continue
		}
		kind := "otherTime"
		switch h := time.UnixMilli(b.t).UTC().Hour(); {
		case h >= 8 && h <= 18:
			kind = "dayTime"
		case h <= 6 || h >= 20:
			kind = "nightTime"
		}
		euros := fmt.Sprintf("%d.%03d", milli/1000, milli%1000)
		out = append(out, row(b.auction, b.bidder, euros, kind, b.t, b.extra, strings.Count(b.extra, "c")))
	}
	return out
}

// referenceQ17 sums up each auction's bids per day.
func referenceQ17(_ *testing.T, ev nxEvents) []string {
	const day = 86_400_000
	type stats struct{ n, r1, r2, r3, lo, hi, sum int64 }
	groups := map[[2]int64]*stats{}
	for _, b := range ev.bids {
		k := [2]int64{b.auction, b.t - b.t%day}
		s := groups[k]
		if s == nil {
			s = &stats{lo: b.price, hi: b.price}
			groups[k] = s
		}
		s.n++
		switch {
		case b.price < 10_000:
			s.r1++
		case b.price < 1_000_000:
			s.r2++
		default:
			s.r3++
		}
		s.lo, s.hi, s.sum = min(s.lo, b.price), max(s.hi, b.price), s.sum+b.price
	}
	var out []string
	for k, s := range groups {
		avg := strconv.FormatFloat(float64(s.sum)/float64(s.n), 'g', -1, 64)
		out = append(out, row(k[0], k[1], k[1]+day, s.n, s.r1, s.r2, s.r3, s.lo, s.hi, avg, s.sum))
	}
	return out
}

// referenceQ18 keeps each bidder's last bid on each auction: the latest, and of bids at one
// time the last generated.
func referenceQ18(_ *testing.T, ev nxEvents) []string {
	last := map[[2]int64]nxBid{}
	for _, b := range ev.bids {
		k := [2]int64{b.bidder, b.auction}
		if l, ok := last[k]; !ok || b.t >= l.t {
			last[k] = b
		}
	}
	var out []string
	for _, b := range last {
		out = append(out, row(b.auction, b.bidder, b.price, b.channel, b.url, b.t, b.extra))
	}
	return out
}

// referenceQ19 keeps the 10 highest bids of each auction; of bids of one price, those whose
// columns encode (as the join and top state keys do: 1 then the little-endian value of an
// integer or timestamp, 1, the length as a varint and the bytes of a string) to the smaller
// bytes first.
func referenceQ19(_ *testing.T, ev nxEvents) []string {
	encode := func(b nxBid) string {
		var e []byte
		for _, v := range []int64{b.auction, b.bidder, b.price} {
			e = binary.LittleEndian.AppendUint64(append(e, 1), uint64(v))
		}
		for _, s := range []string{b.channel, b.url} {
			e = append(binary.AppendUvarint(append(e, 1), uint64(len(s))), s...)
		}
		e = binary.LittleEndian.AppendUint64(append(e, 1), uint64(b.t))
		return string(append(binary.AppendUvarint(append(e, 1), uint64(len(b.extra))), b.extra...))
	}
	byAuction := map[int64][]nxBid{}
	for _, b := range ev.bids {
		byAuction[b.auction] = append(byAuction[b.auction], b)
	}
	var out []string
	for _, bids := range byAuction {
		slices.SortFunc(bids, func(x, y nxBid) int {
			if x.price != y.price {
				return int(y.price - x.price)
			}
			return strings.Compare(encode(x), encode(y))
		})
		bids = slices.CompactFunc(bids, func(x, y nxBid) bool { return x == y })
		for _, b := range bids[:min(10, len(bids))] {
			out = append(out, row(b.auction, b.bidder, b.price, b.channel, b.url, b.t, b.extra))
		}
	}
	return out
}

// referenceQ20 expands every bid on an auction of category 10 with the auction. The spec's
// join keeps rows 10 seconds; the reference checks that this loses no pair here.
func referenceQ20(t *testing.T, ev nxEvents) []string {
	auctions := map[int64]nxAuction{}
	for _, a := range ev.auctions {
		auctions[a.id] = a
	}
	var out []string
	for _, b := range ev.bids {
		a, ok := auctions[b.auction]
		if !ok || a.category != 10 {
			continue
		}
		if d := b.t - a.t; d > 10_000 || d < -10_000 {
			t.Fatalf("a bid on auction %d is %d ms after it, beyond the join's TTL", a.id, d)
		}
		out = append(out, row(b.auction, b.bidder, b.price, b.channel, b.url, b.t, b.extra,
			a.item, a.desc, a.initial, a.reserve, a.t, a.expires, a.seller, a.category, a.extra))
	}
	return out
}

// referenceQ21 gives each bid of a hot channel its channel's number and each other bid the
// channel_id parameter of its URL, dropping the bids that have neither.
func referenceQ21(_ *testing.T, ev nxEvents) []string {
	hot := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}
	var out []string
	for _, b := range ev.bids {
		id, ok := hot[strings.ToLower(b.channel)]
		if !ok {
			for i, p := range strings.Split(b.url, "&") {
				if v, found := strings.CutPrefix(p, "channel_id="); found && (i > 0 || !strings.Contains(b.url, "?")) {
					id, ok = v, true
					break
				}
			}
		}
		if ok {
			out = append(out, row(b.auction, b.bidder, b.price, b.channel, id))
		}
	}
	return out
}

// referenceQ22 splits each bid's URL at its slashes and keeps the pieces 3 to 5.
func referenceQ22(_ *testing.T, ev nxEvents) []string {
	var out []string
	for _, b := range ev.bids {
		parts := strings.Split(b.url, "/")
		dir := func(i int) string {
			if i < len(parts) {
				return parts[i]
			}
			return "-"
		}
		out = append(out, row(b.auction, b.bidder, b.price, b.channel, dir(3), dir(4), dir(5)))
	}
	return out
}

// TestNexmarkQueriesMatchReferences runs every query with a reference over two seeds at a
// rate of 500 events per second of event time (so that 30,000 events span a minute: several
// windows and sessions), at parallelism 1 to 8.
func TestNexmarkQueriesMatchReferences(t *testing.T) {
	parallelisms := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		parallelisms = []int{1, 3, 8}
	}
	for _, seed := range []int64{1, 7} {
		in := NexmarkInput{Events: 30_000, Seed: seed, Rate: 500}
		ev := generateNexmark(t, in)
		for _, q := range NexmarkQueries() {
			reference, ok := nexmarkReferences[q]
			if !ok {
				continue
			}
			want := reference(t, ev)
			slices.Sort(want)
			if len(want) == 0 {
				t.Fatalf("%s, seed %d: the reference writes nothing", q, seed)
			}
			t.Logf("%s, seed %d: %d rows", q, seed, len(want))
			for _, p := range parallelisms {
				got := runQuery(t, q, in, p)
				if !slices.Equal(got, want) {
					t.Fatalf("%s, seed %d, parallelism %d: %d rows, want %d; %s", q, seed, p, len(got), len(want), firstRowDifference(got, want))
				}
			}
		}
	}
	for q := range nexmarkReferences {
		if !slices.Contains(NexmarkQueries(), q) {
			t.Errorf("%s has a reference but no spec", q)
		}
	}
}

func firstRowDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at %d: %s, want %s", i, got[i], want[i])
		}
	}
	return "one is a prefix of the other"
}
