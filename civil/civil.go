// Package civil converts between days since 1970-01-01 and dates of the proleptic Gregorian
// calendar, in UTC: no time zones, no daylight saving time. It is the one reader and writer of
// dates and timestamps as text: ParseRFC3339 for records, ParseTimestamp for SQL's looser
// forms, ParseDate, AppendDate and AppendTimestamp.
package civil

import "strconv"

// Days counts the days from 1970-01-01 to y-m-d. It counts whole 400-year eras (146097
// days each) and then days within the era, with years starting in March so that the leap
// day falls at the end.
func Days(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := FloorDiv(y, 400)
	yearOfEra := y - era*400
	shifted := (m + 9) % 12 // March = 0
	dayOfYear := (153*shifted+2)/5 + d - 1
	dayOfEra := yearOfEra*365 + yearOfEra/4 - yearOfEra/100 + dayOfYear
	return era*146097 + dayOfEra - 719468 // 719468 days from 0000-03-01 to 1970-01-01
}

// Date turns days since 1970-01-01 into year, month and day.
func Date(days int64) (y, m, d int64) {
	z := days + 719468
	era := FloorDiv(z, 146097)
	dayOfEra := z - era*146097
	yearOfEra := (dayOfEra - dayOfEra/1460 + dayOfEra/36524 - dayOfEra/146096) / 365
	dayOfYear := dayOfEra - (365*yearOfEra + yearOfEra/4 - yearOfEra/100)
	shifted := (5*dayOfYear + 2) / 153
	d = dayOfYear - (153*shifted+2)/5 + 1
	m = shifted + 3
	if m > 12 {
		m -= 12
	}
	y = yearOfEra + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

// DaysIn is the number of days in month m of year y.
func DaysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

const msPerDay = 86_400_000

// AppendDate appends days since the epoch as YYYY-MM-DD; years outside 0000-9999 are
// written with as many digits as they need.
func AppendDate(dst []byte, days int64) []byte {
	y, m, d := Date(days)
	if y < 0 || y > 9999 {
		dst = strconv.AppendInt(dst, y, 10)
	} else {
		dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	}
	dst = append(dst, '-')
	dst = Append2(dst, m)
	dst = append(dst, '-')
	return Append2(dst, d)
}

// AppendTimestamp appends milliseconds since the epoch as RFC 3339 in UTC with
// milliseconds: 2024-03-01T11:00:00.000Z.
func AppendTimestamp(dst []byte, ms int64) []byte {
	days := FloorDiv(ms, msPerDay)
	rem := ms - days*msPerDay
	dst = AppendDate(dst, days)
	dst = append(dst, 'T')
	dst = Append2(dst, rem/3_600_000)
	dst = append(dst, ':')
	dst = Append2(dst, rem/60_000%60)
	dst = append(dst, ':')
	dst = Append2(dst, rem/1000%60)
	f := rem % 1000
	return append(dst, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10), 'Z')
}

// Append2 appends v (0 to 99) as two digits.
func Append2(dst []byte, v int64) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }
