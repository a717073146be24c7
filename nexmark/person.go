package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"

	"millrace/schema"
)

// personFixedSize is what a person's id counts towards its size for `extra`, as the
// reference counts it.
const personFixedSize = 8

// Bounds of the person's string columns.
const (
	personNameMax = 16 // "Deiter Bartels" is the longest first and last name
	emailMax      = 6 + 1 + 4 + len(".com")
	creditCardLen = len("0000 0000 0000 0000")
	cityMax       = len("San Francisco")
	stateLen      = 2
	emailUserMax  = 7 // nextString(7): 3 to 6 characters
	emailHostMax  = 5 // nextString(5): 3 or 4 characters
)

// persons builds the next n people. Person ids count up from 1000 in event order; names,
// cities and states come from the reference's small vocabularies, email addresses are two
// random strings joined by '@' and ending in ".com", and credit card numbers are four
// groups of four digits.
func (g *Generator) persons(n int) arrow.RecordBatch {
	cfg, t, mem := &g.cfg, g.tab, g.mem
	id, dateTime := newInt64Column(mem, n), newInt64Column(mem, n)
	name := newStringColumn(mem, n, n*personNameMax)
	email := newStringColumn(mem, n, n*emailMax)
	card := newStringColumn(mem, n, n*creditCardLen)
	city := newStringColumn(mem, n, n*cityMax)
	state := newStringColumn(mem, n, n*stateLen)
	extra := newStringColumn(mem, n, n*maxExtra(cfg.AvgPersonBytes))
	g.fill(n, func(i int, epoch, from, to int64) {
		for ev := epoch*epochEvents + from; ev < epoch*epochEvents+to; ev++ {
			r := eventRNG(g.key, ev)
			id.v[i] = firstPersonID + lastPerson(ev)
			nm := t.names.get(int(r.intn(int64(len(firstNames))))*len(lastNames) + int(r.intn(int64(len(lastNames)))))
			var eb [emailMax]byte
			e := append(eb[:0], t.text(&r, emailUserMax)...)
			e = append(e, '@')
			e = append(e, t.text(&r, emailHostMax)...)
			e = append(e, ".com"...)
			var cb [creditCardLen]byte
			for k := range 4 {
				if k > 0 {
					cb[5*k-1] = ' '
				}
				d := r.intn(10_000)
				for j := 3; j >= 0; j-- {
					cb[5*k+j] = byte('0' + d%10)
					d /= 10
				}
			}
			ct := t.cities.get(int(r.intn(int64(len(usCities)))))
			st := t.states.get(int(r.intn(int64(len(usStates)))))
			name.add(i, nm)
			email.add(i, e)
			card.add(i, cb[:])
			city.add(i, ct)
			state.add(i, st)
			extra.add(i, t.extra(&r, personFixedSize+len(nm)+len(e)+len(cb)+len(ct)+len(st), cfg.AvgPersonBytes))
			dateTime.v[i] = eventTime(cfg.BaseTime, cfg.FirstEventRate, ev)
			i++
		}
	})
	return batch(personSchema, n, []arrow.Array{
		PersonID:         id.finish(arrow.PrimitiveTypes.Int64, n),
		PersonName:       name.finish(n),
		PersonEmail:      email.finish(n),
		PersonCreditCard: card.finish(n),
		PersonCity:       city.finish(n),
		PersonState:      state.finish(n),
		PersonDateTime:   dateTime.finish(schema.Timestamp, n),
		PersonExtra:      extra.finish(n),
	})
}
