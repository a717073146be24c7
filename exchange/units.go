package exchange

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Units of one topic. An upstream unit is named TOPIC/PARTITION ("tx/3"). A subtask of a
// keyed stage runs many units at once, the key groups a worker owns of the stage's input
// topic, and speaks for all of them in one record: its millrace-from header names the set
// as TOPIC/LIST, LIST being partitions and ranges of partitions, ascending and separated by
// commas ("millrace.p.unique/0-84,90"). A marker from such a set advances the watermark of
// every unit in it. Kafka topic names hold no '/' or ',', so both forms read back
// unambiguously; the name of a single unit is a set of one.

// Units names the set of the units of topic's partitions parts, in any order, as
// TOPIC/LIST.
func Units(topic string, parts []int32) string {
	ps := slices.Clone(parts)
	slices.Sort(ps)
	ps = slices.Compact(ps)
	var b strings.Builder
	b.WriteString(topic)
	b.WriteByte('/')
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(ps[i])))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(ps[j])))
		}
		i = j + 1
	}
	return b.String()
}

// maxUnits bounds the partitions one set may name: more than any topic of millrace's has.
const maxUnits = 1 << 16

// expandUnits lists the units a set names, each as TOPIC/PARTITION, or says what is wrong
// with it. A name whose part after its last '/' holds neither ',' nor '-' (or that has no
// '/') names one unit, as it is.
func expandUnits(set string) ([]string, error) {
	i := strings.LastIndexByte(set, '/')
	if i < 0 || !strings.ContainsAny(set[i+1:], ",-") {
		return []string{set}, nil
	}
	topic, list := set[:i], set[i+1:]
	if topic == "" {
		return nil, fmt.Errorf("unit %q: no topic", set)
	}
	var out []string
	last := -1
	for _, r := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err := strconv.ParseUint(lo, 10, 31)
		if err != nil {
			return nil, fmt.Errorf("unit %q: partition %q is not a number", set, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 31); err != nil {
				return nil, fmt.Errorf("unit %q: partition %q is not a number", set, hi)
			}
		}
		if int(a) <= last || b < a {
			return nil, fmt.Errorf("unit %q: partitions out of order at %q", set, r)
		}
		if len(out)+int(b-a)+1 > maxUnits {
			return nil, fmt.Errorf("unit %q: more than %d partitions", set, maxUnits)
		}
		for p := a; p <= b; p++ {
			out = append(out, topic+"/"+strconv.Itoa(int(p)))
		}
		last = int(b)
	}
	return out, nil
}

// compactUnits writes a map of unit -> watermark with the units of one topic that hold one
// watermark named as one set, so that a reader waiting for the 256 key groups of a keyed
// stage keeps a position of a few entries.
func compactUnits(latest map[string]int64) map[string]int64 {
	type key struct {
		topic string
		wm    int64
	}
	sets := map[key][]int32{}
	out := map[string]int64{}
	for u, wm := range latest {
		i := strings.LastIndexByte(u, '/')
		if i <= 0 {
			out[u] = wm // not a unit of a topic: kept as it is
			continue
		}
		p, err := strconv.ParseUint(u[i+1:], 10, 31)
		if err != nil {
			out[u] = wm
			continue
		}
		k := key{u[:i], wm}
		sets[k] = append(sets[k], int32(p))
	}
	for _, k := range slices.SortedFunc(maps.Keys(sets), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.wm, b.wm))
	}) {
		out[Units(k.topic, sets[k])] = k.wm
	}
	return out
}

// expandLatest reads back what compactUnits wrote.
func expandLatest(compact map[string]int64) (map[string]int64, error) {
	out := make(map[string]int64, len(compact))
	for set, wm := range compact {
		units, err := expandUnits(set)
		if err != nil {
			return nil, err
		}
		for _, u := range units {
			if prev, ok := out[u]; !ok || wm > prev {
				out[u] = wm
			}
		}
	}
	return out, nil
}
