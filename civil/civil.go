// Package civil converts between days since 1970-01-01 and dates of the proleptic Gregorian
// calendar, in UTC: no time zones, no daylight saving time.
package civil

// floorDiv divides rounding toward negative infinity; b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// Days counts the days from 1970-01-01 to y-m-d. It counts whole 400-year eras (146097
// days each) and then days within the era, with years starting in March so that the leap
// day falls at the end.
func Days(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yearOfEra := y - era*400
	shifted := (m + 9) % 12 // March = 0
	dayOfYear := (153*shifted+2)/5 + d - 1
	dayOfEra := yearOfEra*365 + yearOfEra/4 - yearOfEra/100 + dayOfYear
	return era*146097 + dayOfEra - 719468 // 719468 days from 0000-03-01 to 1970-01-01
}

// Date turns days since 1970-01-01 into year, month and day.
func Date(days int64) (y, m, d int64) {
	z := days + 719468
	era := floorDiv(z, 146097)
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
