package expr

import (
	"fmt"
	"millrace/civil"
	"strings"
)

// Time functions work in UTC on milliseconds since the epoch; dates are accepted wherever a
// timestamp is and read as midnight. Weeks start on Monday (as date_trunc('week') does in
// PostgreSQL) and day_of_week counts from Sunday = 0 to Saturday = 6 (PostgreSQL's dow).

// timestampArg converts argument i to a timestamp: dates widen and string constants parse.
func (c *compiler) timestampArg(n *Call, i int, x *operand) (*operand, error) {
	switch {
	case x.t.k == kString && x.konst != nil:
		return c.coerce(x, tTimestamp)
	case x.t.k == kDate:
		return c.coerce(x, tTimestamp)
	}
	if err := want(n, i, x, "a timestamp", kTimestamp); err != nil {
		return nil, err
	}
	return c.coerce(x, tTimestamp)
}

// dateOf is date(x): the UTC day of a timestamp, or a string parsed as a date.
func (c *compiler) dateOf(a []*operand, n *Call) (*operand, error) {
	x := a[0]
	if err := want(n, 0, x, "a timestamp", kTimestamp, kDate, kString); err != nil {
		return nil, err
	}
	return c.cast(x, tDate, n, false)
}

// epochMs is epoch_ms(ts): milliseconds since 1970-01-01T00:00:00Z as int64.
func (c *compiler) epochMs(a []*operand, n *Call) (*operand, error) {
	x, err := c.timestampArg(n, 0, a[0])
	if err != nil {
		return nil, err
	}
	out := relabel(x, tInt64)
	out.node = n
	return out, nil
}

// toTimestampMs is to_timestamp_ms(ms): the timestamp ms milliseconds after the epoch.
func (c *compiler) toTimestampMs(a []*operand, n *Call) (*operand, error) {
	if err := want(n, 0, a[0], "an integer", kInt32, kInt64); err != nil {
		return nil, err
	}
	x, err := c.coerce(a[0], tInt64)
	if err != nil {
		return nil, err
	}
	out := relabel(x, tTimestamp)
	out.node = n
	return out, nil
}

type timeUnit uint8

const (
	unitMillisecond timeUnit = iota
	unitSecond
	unitMinute
	unitHour
	unitDay
	unitWeek
	unitMonth
	unitQuarter
	unitYear
)

var truncUnits = map[string]timeUnit{
	"millisecond": unitMillisecond, "second": unitSecond, "minute": unitMinute, "hour": unitHour,
	"day": unitDay, "week": unitWeek, "month": unitMonth, "quarter": unitQuarter, "year": unitYear,
}

// dateTrunc is date_trunc(unit, ts): ts rounded down to the start of its second, minute,
// hour, day, week, month, quarter or year.
func (c *compiler) dateTrunc(a []*operand, n *Call) (*operand, error) {
	name, err := constString(n, 0, a[0])
	if err != nil {
		return nil, err
	}
	unit, ok := truncUnits[strings.TrimSuffix(strings.ToLower(name), "s")]
	if !ok {
		return nil, fmt.Errorf("date_trunc(): unknown unit %q (millisecond, second, minute, hour, day, week, month, quarter, year)", name)
	}
	x, err := c.timestampArg(n, 1, a[1])
	if err != nil {
		return nil, err
	}
	if strictNull(x) {
		return nullOf(tTimestamp, n), nil
	}
	e := &timeEval{trunc: true, unit: unit, x: x.ev}
	return c.finish(&operand{ev: e, t: tTimestamp, nullable: x.nullable, node: n}, x)
}

type timeField uint8

const (
	fieldYear timeField = iota
	fieldMonth
	fieldDay
	fieldHour
	fieldMinute
	fieldSecond
	fieldDayOfWeek
	fieldDayOfYear
)

// fieldFunc builds the function that extracts field from a timestamp as an int32.
func fieldFunc(f timeField) func(*compiler, []*operand, *Call) (*operand, error) {
	return func(c *compiler, a []*operand, n *Call) (*operand, error) {
		x, err := c.timestampArg(n, 0, a[0])
		if err != nil {
			return nil, err
		}
		if strictNull(x) {
			return nullOf(tInt32, n), nil
		}
		e := &timeEval{field: f, x: x.ev}
		return c.finish(&operand{ev: e, t: tInt32, nullable: x.nullable, node: n}, x)
	}
}

// timeEval truncates timestamps to a unit or extracts a field from them.
type timeEval struct {
	trunc bool
	unit  timeUnit
	field timeField
	x     evaluator
}

func (e *timeEval) eval(c *evalCtx, sel bitmap) (*vec, error) {
	v, err := e.x.eval(c, sel)
	if err != nil {
		return nil, err
	}
	rows, konst := rowsOf(v)
	out := &vec{n: v.n, konst: konst, valid: v.valid}
	in := v.i64[:rows]
	if e.trunc {
		out.i64 = make([]int64, rows)
		truncate(e.unit, in, out.i64)
		return out, nil
	}
	out.i32 = make([]int32, rows)
	extract(e.field, in, out.i32)
	return out, nil
}

func truncate(unit timeUnit, in, out []int64) {
	var step int64
	switch unit {
	case unitMillisecond:
		copy(out, in)
		return
	case unitSecond:
		step = msPerSecond
	case unitMinute:
		step = msPerMinute
	case unitHour:
		step = msPerHour
	case unitDay:
		step = msPerDay
	}
	if step != 0 {
		for i, ms := range in {
			out[i] = civil.FloorDiv(ms, step) * step
		}
		return
	}
	for i, ms := range in {
		days := civil.FloorDiv(ms, msPerDay)
		switch unit {
		case unitWeek:
			days -= (days%7 + 7 + 3) % 7 // 1970-01-01 was a Thursday, 3 days after a Monday
		case unitMonth, unitQuarter, unitYear:
			y, m, _ := civil.Date(days)
			switch unit {
			case unitQuarter:
				m = (m-1)/3*3 + 1
			case unitYear:
				m = 1
			}
			days = civil.Days(y, m, 1)
		}
		out[i] = days * msPerDay
	}
}

func extract(f timeField, in []int64, out []int32) {
	for i, ms := range in {
		days := civil.FloorDiv(ms, msPerDay)
		inDay := ms - days*msPerDay
		var x int64
		switch f {
		case fieldHour:
			x = inDay / msPerHour
		case fieldMinute:
			x = inDay / msPerMinute % 60
		case fieldSecond:
			x = inDay / msPerSecond % 60
		case fieldDayOfWeek:
			x = (days%7 + 7 + 4) % 7 // 1970-01-01 was a Thursday
		default:
			y, m, d := civil.Date(days)
			switch f {
			case fieldYear:
				x = y
			case fieldMonth:
				x = m
			case fieldDay:
				x = d
			case fieldDayOfYear:
				x = days - civil.Days(y, 1, 1) + 1
			}
		}
		out[i] = int32(x)
	}
}
