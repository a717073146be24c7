package op

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// featKey is the state of one key that every call shares.
type featKey struct {
	key     string
	live    bool
	pending int32 // rows of the key waiting for the watermark
	run     bool  // the running figures hold rows (none yet, or forgotten by the ttl)
	last    int64 // event time of the key's last rows processed
	wts     []int64
	head    int // wts[head:] are the event times of the rows in range, in order
}

// featState is one call's state of every key, by slot. Range features keep, beside the
// key's event times, one value per row in range; running features keep their figures.
type featState struct {
	ok   [][]bool // the row's value is not null (count_if: its condition is true)
	f    [][]float64
	d    [][]decimal128.Num
	s    [][]string
	fsum []float64
	dsum []decimal128.Num
	nn   []int64 // rows in range whose ok is set
	dist []map[string]int32

	n        []int64 // zscore: Welford's count, mean and sum of squared deviations
	mean, m2 []float64
	seen     []map[string]struct{}
	has      []bool // a previous position: its time, latitude and longitude
	pts      []int64
	lat, lon []float64
}

// featSizes are the figures StateBytes estimates the state from, kept as it changes.
type featSizes struct {
	keyBytes int64 // bytes of the keys
	entries  int64 // rows in range, over all keys
	strBytes int64 // bytes of distinct values in range and of values seen
	sets     int64 // entries of the distinct and seen sets
	pending  int64 // bytes of the rows held for the watermark
}

// StateBytes estimates the memory of the keys, the rows in range, the rows held and the
// copy of the keys' state the checkpoints took.
func (f *Features) StateBytes() int64 {
	const perKey = 16 + 48 + 72 // key header, map entry, featKey
	perEntry := int64(8)
	for _, c := range f.calls {
		switch c.kind {
		case fCountIf:
			perEntry++
		case fSum, fAvg:
			perEntry += 1 + 8
			if c.exact {
				perEntry += 8
			}
		case fCountDistinct:
			perEntry += 1 + 16
		}
	}
	s := f.sizes
	return s.keyBytes + int64(len(f.slots))*perKey + s.entries*perEntry + s.strBytes + s.sets*48 + s.pending + f.kept.stateBytes()
}

// slot returns the slot of key bytes k, making an empty one.
func (f *Features) slot(k []byte) uint32 {
	if s, ok := f.slots[string(k)]; ok {
		return s
	}
	key := string(k)
	var s uint32
	if n := len(f.free); n > 0 {
		s, f.free = f.free[n-1], f.free[:n-1]
		f.touch(s) // a key dropped since the last capture may still be pending
		f.keys[s] = featKey{key: key, live: true, wts: f.keys[s].wts[:0]}
	} else {
		s = uint32(len(f.keys))
		f.keys = append(f.keys, featKey{key: key, live: true})
		for i := range f.calls {
			f.calls[i].grow()
		}
		f.touch(s)
	}
	f.slots[key] = s
	f.sizes.keyBytes += int64(len(key))
	return s
}

// grow adds a slot to the call's state.
func (c *featCall) grow() {
	st := &c.st
	switch c.kind {
	case fCountIf:
		st.ok, st.nn = append(st.ok, nil), append(st.nn, 0)
	case fSum, fAvg:
		st.ok, st.nn = append(st.ok, nil), append(st.nn, 0)
		if c.exact {
			st.d, st.dsum = append(st.d, nil), append(st.dsum, decimal128.Num{})
		} else {
			st.f, st.fsum = append(st.f, nil), append(st.fsum, 0)
		}
	case fCountDistinct:
		st.ok, st.s, st.dist = append(st.ok, nil), append(st.s, nil), append(st.dist, nil)
	case fZScore:
		st.n, st.mean, st.m2 = append(st.n, 0), append(st.mean, 0), append(st.m2, 0)
	case fFirstSeen:
		st.seen = append(st.seen, nil)
	case fKmFromPrev, fKmhFromPrev:
		st.has, st.pts = append(st.has, false), append(st.pts, 0)
		st.lat, st.lon = append(st.lat, 0), append(st.lon, 0)
	}
}

// ts is the event time of the row at position p of the rows being emitted.
func (f *Features) ts(p int32) int64 {
	r := f.refs[p]
	return f.pend[r.b].ts[r.i]
}

// args is call ci's argument values of the batch of the row at position p, and its row.
func (f *Features) args(ci int, p int32) (*featArgs, int32) {
	r := f.refs[p]
	return &f.pend[r.b].args[ci], r.i
}

// compute fills the results of the rows in f.refs: key by key, in event-time order.
func (f *Features) compute() error {
	n := len(f.refs)
	f.prepareResults(n)
	f.order = f.order[:0]
	for pos, r := range f.refs {
		f.order = append(f.order, uint64(f.pend[r.b].slot[r.i])<<32|uint64(pos))
	}
	slices.Sort(f.order)
	for lo := 0; lo < n; {
		slot := uint32(f.order[lo] >> 32)
		hi := lo + 1
		for hi < n && uint32(f.order[hi]>>32) == slot {
			hi++
		}
		run := f.run[:0]
		for _, o := range f.order[lo:hi] {
			run = append(run, int32(uint32(o)))
		}
		f.run = run
		f.sortRun(run)
		if err := f.computeKey(slot, run); err != nil {
			return fmt.Errorf("features of key %s: %w", f.keyString(slot), err)
		}
		lo = hi
	}
	return nil
}

// keyString shows a key for errors.
func (f *Features) keyString(slot uint32) string {
	return fmt.Sprintf("%x", f.keys[slot].key)
}

// sortRun puts one key's rows (positions in arrival order) in event-time order, and peers
// in the order of their argument values.
func (f *Features) sortRun(run []int32) {
	if !slices.IsSortedFunc(run, func(a, b int32) int { return cmp.Compare(f.ts(a), f.ts(b)) }) {
		slices.SortStableFunc(run, func(a, b int32) int { return cmp.Compare(f.ts(a), f.ts(b)) })
	}
	for i := 0; i < len(run); {
		j := i + 1
		for j < len(run) && f.ts(run[j]) == f.ts(run[i]) {
			j++
		}
		if j-i > 1 {
			peers := run[i:j]
			ties := make(map[int32]string, len(peers))
			for _, p := range peers {
				ties[p] = f.tieKey(p)
			}
			slices.SortStableFunc(peers, func(a, b int32) int { return cmp.Compare(ties[a], ties[b]) })
		}
		i = j
	}
}

// tieKey encodes the argument values of the row at position p, which order peers.
func (f *Features) tieKey(p int32) string {
	var b []byte
	for ci, c := range f.calls {
		if len(c.Args) == 0 {
			continue
		}
		a, i := f.args(ci, p)
		if !a.ok[i] {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		switch {
		case a.f != nil:
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(a.f[i]))
			if a.g != nil {
				b = binary.BigEndian.AppendUint64(b, math.Float64bits(a.g[i]))
			}
		case a.d != nil:
			b = binary.BigEndian.AppendUint64(b, uint64(a.d[i].HighBits()))
			b = binary.BigEndian.AppendUint64(b, a.d[i].LowBits())
		case a.s != nil:
			b = binary.AppendUvarint(b, uint64(len(a.s[i])))
			b = append(b, a.s[i]...)
		}
	}
	return string(b)
}

// computeKey computes the features of one key's rows, in order, group of peers by group.
func (f *Features) computeKey(slot uint32, run []int32) error {
	f.touch(slot)
	k := &f.keys[slot]
	for i := 0; i < len(run); {
		t := f.ts(run[i])
		j := i + 1
		for j < len(run) && f.ts(run[j]) == t && f.rowsN == 0 { // a frame of rows takes peers one by one
			j++
		}
		group := run[i:j]
		i = j
		if k.run && f.ttlM > 0 && t-k.last >= f.ttlM {
			f.resetRunning(slot)
			k.run = false
			if f.rowsN > 0 { // the key starts afresh: its frame too
				f.evictUpTo(slot, k.last)
			}
		}
		if f.rowsN > 0 {
			f.evictFirst(slot, len(k.wts)-k.head-(f.rowsN-1))
		} else {
			f.evictUpTo(slot, t-f.rangeM)
		}
		for _, p := range group {
			k.wts = append(k.wts, t)
			for ci := range f.calls {
				if f.calls[ci].kind.windowed() {
					f.enter(ci, slot, p)
				}
			}
		}
		f.sizes.entries += int64(len(group))
		for ci := range f.calls {
			if err := f.output(ci, slot, group, t); err != nil {
				return err
			}
		}
		for ci := range f.calls {
			f.update(ci, slot, group, t)
		}
		k.last, k.run = t, true
		k.pending -= int32(len(group))
	}
	return nil
}

// evictUpTo drops the key's rows in range with event time at or before cut.
func (f *Features) evictUpTo(slot uint32, cut int64) {
	k := &f.keys[slot]
	n := 0
	for h := k.head; h < len(k.wts) && k.wts[h] <= cut; h++ {
		n++
	}
	f.evictFirst(slot, n)
}

// evictFirst drops the key's n first rows in range, if n is above 0.
func (f *Features) evictFirst(slot uint32, n int) {
	k := &f.keys[slot]
	h := k.head
	if n > 0 && h < len(k.wts) {
		f.touch(slot)
	}
	for ; n > 0 && h < len(k.wts); n-- {
		for ci := range f.calls {
			if f.calls[ci].kind.windowed() {
				f.leave(ci, slot, h)
			}
		}
		h++
	}
	f.sizes.entries -= int64(h - k.head)
	k.head = h
	if h == len(k.wts) || (h > 32 && 2*h > len(k.wts)) {
		f.compact(slot)
	}
}

// compact moves the key's rows in range to the front of its slices.
func (f *Features) compact(slot uint32) {
	k := &f.keys[slot]
	h := k.head
	if h == 0 {
		return
	}
	k.wts = k.wts[:copy(k.wts, k.wts[h:])]
	for ci := range f.calls {
		c := &f.calls[ci]
		st := &c.st
		switch c.kind {
		case fCountIf:
			st.ok[slot] = shift(st.ok[slot], h)
		case fSum, fAvg:
			st.ok[slot] = shift(st.ok[slot], h)
			if c.exact {
				st.d[slot] = shift(st.d[slot], h)
			} else {
				st.f[slot] = shift(st.f[slot], h)
			}
		case fCountDistinct:
			st.ok[slot] = shift(st.ok[slot], h)
			clear(st.s[slot][:h])
			st.s[slot] = shift(st.s[slot], h)
		}
	}
	k.head = 0
}

func shift[T any](s []T, h int) []T { return s[:copy(s, s[h:])] }

// enter adds the value of the row at position p to call ci's range state of slot.
func (f *Features) enter(ci int, slot uint32, p int32) {
	c := &f.calls[ci]
	st := &c.st
	if c.kind == fCount {
		return
	}
	a, i := f.args(ci, p)
	ok := a.ok[i]
	st.ok[slot] = append(st.ok[slot], ok)
	switch c.kind {
	case fCountIf:
		if ok {
			st.nn[slot]++
		}
	case fSum, fAvg:
		if c.exact {
			v := a.d[i]
			if !ok {
				v = decimal128.Num{}
			}
			st.d[slot] = append(st.d[slot], v)
			if ok {
				st.dsum[slot] = st.dsum[slot].Add(v)
				st.nn[slot]++
			}
		} else {
			v := a.f[i]
			if !ok {
				v = 0
			}
			st.f[slot] = append(st.f[slot], v)
			if ok {
				st.fsum[slot] += v
				st.nn[slot]++
			}
		}
	case fCountDistinct:
		v := ""
		if ok {
			v = a.s[i]
			m := st.dist[slot]
			if m == nil {
				m = map[string]int32{}
				st.dist[slot] = m
			}
			n := len(m)
			m[v]++
			if len(m) > n {
				f.sizes.strBytes += int64(len(v))
				f.sizes.sets++
			}
		}
		st.s[slot] = append(st.s[slot], v)
	}
}

// leave takes the value of the key's range row h out of call ci's range state of slot.
func (f *Features) leave(ci int, slot uint32, h int) {
	c := &f.calls[ci]
	st := &c.st
	switch c.kind {
	case fCountIf:
		if st.ok[slot][h] {
			st.nn[slot]--
		}
	case fSum, fAvg:
		if !st.ok[slot][h] {
			return
		}
		st.nn[slot]--
		switch {
		case st.nn[slot] == 0: // an empty range sums to exactly nothing, whatever rounding did
			if c.exact {
				st.dsum[slot] = decimal128.Num{}
			} else {
				st.fsum[slot] = 0
			}
		case c.exact:
			st.dsum[slot] = st.dsum[slot].Sub(st.d[slot][h])
		default:
			st.fsum[slot] -= st.f[slot][h]
		}
	case fCountDistinct:
		if !st.ok[slot][h] {
			return
		}
		v, m := st.s[slot][h], st.dist[slot]
		if m[v] <= 1 {
			delete(m, v)
			f.sizes.strBytes -= int64(len(v))
			f.sizes.sets--
		} else {
			m[v]--
		}
	}
}

// output writes call ci's feature of each row of a group of peers at event time t.
func (f *Features) output(ci int, slot uint32, group []int32, t int64) error {
	c := &f.calls[ci]
	st, res, k := &c.st, &f.res[ci], &f.keys[slot]
	switch c.kind {
	case fCount:
		res.setInt(group, int64(len(k.wts)-k.head))
	case fCountIf:
		res.setInt(group, st.nn[slot])
	case fCountDistinct:
		res.setInt(group, int64(len(st.dist[slot])))
	case fSum:
		if st.nn[slot] == 0 {
			res.setNull(group)
			break
		}
		switch {
		case c.isInt:
			v, ok := int64Of(st.dsum[slot])
			if !ok {
				return fmt.Errorf("%s: the sum %s overflows int64", c.Text, st.dsum[slot].ToString(0))
			}
			res.setInt(group, v)
		case c.exact:
			for _, p := range group {
				res.d[p], res.ok[p] = st.dsum[slot], true
			}
		default:
			res.setFloat(group, st.fsum[slot])
		}
	case fAvg:
		n := st.nn[slot]
		switch {
		case n == 0:
			res.setNull(group)
		case c.exact:
			res.setFloat(group, st.dsum[slot].ToFloat64(c.scale)/float64(n))
		default:
			res.setFloat(group, st.fsum[slot]/float64(n))
		}
	case fSecondsSincePrev:
		if !k.run {
			res.setNull(group)
			break
		}
		res.setFloat(group, float64(t-k.last)/1000)
	case fZScore:
		n := st.n[slot]
		sd := 0.0
		if n >= 2 {
			sd = math.Sqrt(st.m2[slot] / float64(n-1))
		}
		for _, p := range group {
			a, i := f.args(ci, p)
			if !a.ok[i] || sd == 0 {
				res.ok[p] = false
				continue
			}
			res.f[p], res.ok[p] = (a.f[i]-st.mean[slot])/sd, true
		}
	case fFirstSeen:
		seen := st.seen[slot]
		for _, p := range group {
			a, i := f.args(ci, p)
			if !a.ok[i] {
				res.ok[p] = false
				continue
			}
			_, was := seen[a.s[i]]
			res.b[p], res.ok[p] = !was, true
		}
	case fKmFromPrev, fKmhFromPrev:
		for _, p := range group {
			a, i := f.args(ci, p)
			if !a.ok[i] || !st.has[slot] {
				res.ok[p] = false
				continue
			}
			km := haversineKm(st.lat[slot], st.lon[slot], a.f[i], a.g[i])
			if c.kind == fKmhFromPrev {
				km /= float64(t-st.pts[slot]) / 3_600_000
			}
			res.f[p], res.ok[p] = km, true
		}
	}
	return nil
}

// update folds a group of peers at event time t into call ci's running figures of slot.
func (f *Features) update(ci int, slot uint32, group []int32, t int64) {
	c := &f.calls[ci]
	st := &c.st
	switch c.kind {
	case fZScore:
		for _, p := range group {
			a, i := f.args(ci, p)
			if !a.ok[i] {
				continue
			}
			x := a.f[i]
			st.n[slot]++
			d := x - st.mean[slot]
			st.mean[slot] += d / float64(st.n[slot])
			st.m2[slot] += d * (x - st.mean[slot])
		}
	case fFirstSeen:
		for _, p := range group {
			a, i := f.args(ci, p)
			if !a.ok[i] {
				continue
			}
			if st.seen[slot] == nil {
				st.seen[slot] = map[string]struct{}{}
			}
			seen := st.seen[slot]
			n := len(seen)
			seen[a.s[i]] = struct{}{}
			if len(seen) > n {
				f.sizes.strBytes += int64(len(a.s[i]))
				f.sizes.sets++
			}
		}
	case fKmFromPrev, fKmhFromPrev:
		for _, p := range group {
			if a, i := f.args(ci, p); a.ok[i] {
				st.has[slot], st.pts[slot], st.lat[slot], st.lon[slot] = true, t, a.f[i], a.g[i]
			}
		}
	}
}

// resetRunning forgets the running figures of slot.
func (f *Features) resetRunning(slot uint32) {
	for ci := range f.calls {
		st := &f.calls[ci].st
		switch f.calls[ci].kind {
		case fZScore:
			st.n[slot], st.mean[slot], st.m2[slot] = 0, 0, 0
		case fFirstSeen:
			for v := range st.seen[slot] {
				f.sizes.strBytes -= int64(len(v))
				f.sizes.sets--
			}
			st.seen[slot] = nil
		case fKmFromPrev, fKmhFromPrev:
			st.has[slot], st.pts[slot], st.lat[slot], st.lon[slot] = false, 0, 0, 0
		}
	}
}

// sweep forgets what no row after watermark wm could see: rows out of range, and keys with
// nothing else left; after the final watermark, every key. It runs once the watermark has
// moved on by the range or the ttl.
func (f *Features) sweep(wm int64) {
	if wm == MinWatermark {
		return
	}
	every := f.rangeM
	if f.rowsN > 0 { // a frame of rows leaves only with the ttl, or at the end
		every = math.MaxInt64
	}
	if f.ttlM > 0 && f.ttlM < every {
		every = f.ttlM
	}
	final := wm == MaxWatermark // no row follows: nothing held is needed any more
	if !final && f.lastSweep != MinWatermark && wm-f.lastSweep < every {
		return
	}
	f.lastSweep = wm
	cut := wm - f.rangeM
	if f.rowsN > 0 {
		cut = MinWatermark
	}
	if final {
		cut = wm
	}
	for s := range f.keys {
		k := &f.keys[s]
		if !k.live {
			continue
		}
		if f.rowsN > 0 && f.ttlM > 0 && k.pending == 0 && wm-k.last >= f.ttlM {
			f.evictUpTo(uint32(s), k.last) // the ttl passed since the key's last row: its frame goes
		} else {
			f.evictUpTo(uint32(s), cut)
		}
		if k.pending > 0 || k.head < len(k.wts) {
			continue
		}
		if !final && f.running && k.run && (f.ttlM == 0 || wm-k.last < f.ttlM) {
			continue
		}
		f.drop(uint32(s))
	}
}

// drop forgets a key whose range is empty and whose running figures no row could see.
func (f *Features) drop(slot uint32) {
	f.touch(slot)
	f.resetRunning(slot)
	k := &f.keys[slot]
	delete(f.slots, k.key)
	f.sizes.keyBytes -= int64(len(k.key))
	*k = featKey{wts: k.wts[:0]}
	f.free = append(f.free, slot)
}

// featRes holds one call's results of the rows being emitted, by position.
type featRes struct {
	i  []int64
	f  []float64
	d  []decimal128.Num
	b  []bool
	ok []bool
}

func (r *featRes) setInt(group []int32, v int64) {
	for _, p := range group {
		r.i[p], r.ok[p] = v, true
	}
}

func (r *featRes) setFloat(group []int32, v float64) {
	for _, p := range group {
		r.f[p], r.ok[p] = v, true
	}
}

func (r *featRes) setNull(group []int32) {
	for _, p := range group {
		r.ok[p] = false
	}
}

// prepareResults sizes the results for n rows.
func (f *Features) prepareResults(n int) {
	if len(f.res) != len(f.calls) {
		f.res = make([]featRes, len(f.calls))
	}
	for ci := range f.calls {
		r := &f.res[ci]
		r.ok = resize(r.ok, n)
		switch f.out.Field(f.cfg.Pass + ci).Type.ID() {
		case arrow.INT64:
			r.i = resize(r.i, n)
		case arrow.FLOAT64:
			r.f = resize(r.f, n)
		case arrow.DECIMAL128:
			r.d = resize(r.d, n)
		case arrow.BOOL:
			r.b = resize(r.b, n)
		}
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// resultArrays builds the feature columns of the rows being emitted.
func (f *Features) resultArrays() ([]arrow.Array, error) {
	mem := allocator(f.ctx)
	n := len(f.refs)
	out := make([]arrow.Array, len(f.calls))
	for ci := range f.calls {
		r := &f.res[ci]
		t := f.out.Field(f.cfg.Pass + ci).Type
		b := array.NewBuilder(mem, t)
		switch bb := b.(type) {
		case *array.Int64Builder:
			bb.AppendValues(r.i[:n], r.ok[:n])
		case *array.Float64Builder:
			bb.AppendValues(r.f[:n], r.ok[:n])
		case *array.Decimal128Builder:
			bb.AppendValues(r.d[:n], r.ok[:n])
		case *array.BooleanBuilder:
			bb.AppendValues(r.b[:n], r.ok[:n])
		default:
			b.Release()
			releaseAll(out[:ci])
			return nil, fmt.Errorf("features: no builder for %s", t)
		}
		out[ci] = b.NewArray()
		b.Release()
	}
	return out, nil
}

// int64Of converts an exact sum of integers to int64, if it fits.
func int64Of(n decimal128.Num) (int64, bool) {
	hi, lo := n.HighBits(), n.LowBits()
	if (hi == 0 && lo>>63 == 0) || (hi == -1 && lo>>63 == 1) {
		return int64(lo), true
	}
	return 0, false
}

// earthKm is the mean radius of the Earth in kilometres.
const earthKm = 6371.0

// haversineKm is the great-circle distance between two points given in degrees.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLon/2)
	h := s1*s1 + math.Cos(lat1*rad)*math.Cos(lat2*rad)*s2*s2
	return 2 * earthKm * math.Asin(math.Sqrt(min(h, 1)))
}
