package expr

import (
	"fmt"
	"millrace/civil"
	"strconv"
	"strings"
)

// Calendar helpers for the proleptic Gregorian calendar in UTC. Timestamps are milliseconds
// since 1970-01-01T00:00:00Z and dates are days since 1970-01-01; there is no time zone other
// than UTC and hence no daylight saving time.

const (
	msPerSecond = 1000
	msPerMinute = 60 * msPerSecond
	msPerHour   = 60 * msPerMinute
	msPerDay    = 24 * msPerHour
)

// floorDiv divides rounding toward negative infinity; b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// numAt reads the n ASCII digits at b[i:i+n].
func numAt[S ~string | ~[]byte](b S, i, n int) (int64, bool) {
	if i+n > len(b) {
		return 0, false
	}
	var v int64
	for j := i; j < i+n; j++ {
		if !isDigit(b[j]) {
			return 0, false
		}
		v = v*10 + int64(b[j]-'0')
	}
	return v, true
}

// parseDate parses YYYY-MM-DD into days since the epoch.
func parseDate[S ~string | ~[]byte](b S) (int32, error) {
	days, ok := dateAt(b)
	if !ok || len(b) != 10 {
		return 0, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", string(b))
	}
	return int32(days), nil
}

// dateAt parses the YYYY-MM-DD at the start of b.
func dateAt[S ~string | ~[]byte](b S) (int64, bool) {
	y, ok1 := numAt(b, 0, 4)
	m, ok2 := numAt(b, 5, 2)
	d, ok3 := numAt(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || b[4] != '-' || b[7] != '-' || m < 1 || m > 12 || d < 1 || d > civil.DaysIn(y, m) {
		return 0, false
	}
	return civil.Days(y, m, d), true
}

// parseTimestamp parses an RFC 3339 timestamp into milliseconds since the epoch. It also
// accepts a space for the T, a missing offset (meaning UTC), missing seconds and a date alone
// (midnight UTC). Digits below the millisecond are dropped toward the past.
func parseTimestamp[S ~string | ~[]byte](b S) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%q is not a timestamp: %s", string(b), why)
	}
	days, ok := dateAt(b)
	if !ok {
		return bad("want YYYY-MM-DDTHH:MM:SSZ")
	}
	if len(b) == 10 {
		return days * msPerDay, nil
	}
	if t := b[10]; t != 'T' && t != 't' && t != ' ' {
		return bad("want T between date and time")
	}
	hh, ok1 := numAt(b, 11, 2)
	mm, ok2 := numAt(b, 14, 2)
	if !ok1 || !ok2 || b[13] != ':' {
		return bad("want HH:MM after the date")
	}
	i := 16
	var ss, ms int64
	if i < len(b) && b[i] == ':' {
		var ok bool
		if ss, ok = numAt(b, 17, 2); !ok {
			return bad("want two digits of seconds")
		}
		i = 19
		if i < len(b) && b[i] == '.' {
			i++
			start := i
			for ; i < len(b) && isDigit(b[i]); i++ {
				if i-start < 3 {
					ms = ms*10 + int64(b[i]-'0')
				}
			}
			if i == start {
				return bad("empty fraction of a second")
			}
			for n := i - start; n < 3; n++ {
				ms *= 10
			}
		}
	}
	if hh > 23 || mm > 59 || ss > 59 {
		return bad("no such time of day")
	}
	var offset int64 // seconds east of UTC
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			oh, ok := numAt(b, i+1, 2)
			var om int64
			j := i + 3
			if ok && j < len(b) {
				if b[j] == ':' {
					j++
				}
				om, ok = numAt(b, j, 2)
				j += 2
			}
			if !ok || oh > 23 || om > 59 {
				return bad("offset must be Z or ±HH:MM")
			}
			offset = oh*3600 + om*60
			if b[i] == '-' {
				offset = -offset
			}
			i = j
		}
	}
	if i != len(b) {
		return bad("unexpected text after the time")
	}
	secs := days*86400 + hh*3600 + mm*60 + ss - offset
	return secs*msPerSecond + ms, nil
}

// intervalUnits maps the unit words INTERVAL literals accept to milliseconds.
var intervalUnits = map[string]int64{
	"ms": 1, "millisecond": 1, "milliseconds": 1,
	"s": msPerSecond, "sec": msPerSecond, "secs": msPerSecond, "second": msPerSecond, "seconds": msPerSecond,
	"m": msPerMinute, "min": msPerMinute, "mins": msPerMinute, "minute": msPerMinute, "minutes": msPerMinute,
	"h": msPerHour, "hr": msPerHour, "hour": msPerHour, "hours": msPerHour,
	"d": msPerDay, "day": msPerDay, "days": msPerDay,
	"w": 7 * msPerDay, "week": 7 * msPerDay, "weeks": 7 * msPerDay,
}

// parseInterval parses a duration written as amounts and units, such as "5 minutes",
// "1 hour 30 minutes", "90s" or "-2 days", into milliseconds. Months and years are refused:
// their length varies.
func parseInterval(s string) (int64, error) {
	f := strings.Fields(s)
	// Split "90s" into "90" "s".
	var parts []string
	for _, w := range f {
		j := 0
		for j < len(w) && (isDigit(w[j]) || w[j] == '-' || w[j] == '+') {
			j++
		}
		if j > 0 && j < len(w) {
			parts = append(parts, w[:j], w[j:])
		} else {
			parts = append(parts, w)
		}
	}
	if len(parts) == 0 || len(parts)%2 != 0 {
		return 0, fmt.Errorf("%q is not an interval (want amounts and units, such as '5 minutes')", s)
	}
	var total int64
	for i := 0; i < len(parts); i += 2 {
		n, err := strconv.ParseInt(parts[i], 10, 64)
		unit, ok := intervalUnits[strings.ToLower(parts[i+1])]
		if err != nil || !ok {
			return 0, fmt.Errorf("%q is not an interval (units: ms, second, minute, hour, day, week)", s)
		}
		if n > (1<<62)/unit || n < -(1<<62)/unit {
			return 0, fmt.Errorf("interval %q is out of range", s)
		}
		total += n * unit
	}
	return total, nil
}

// appendInterval writes a duration as [-][N days ]HH:MM:SS[.mmm].
func appendInterval(dst []byte, ms int64) []byte {
	u := uint64(ms)
	if ms < 0 {
		dst = append(dst, '-')
		u = -u
	}
	if days := u / msPerDay; days > 0 {
		dst = strconv.AppendUint(dst, days, 10)
		if days == 1 {
			dst = append(dst, " day "...)
		} else {
			dst = append(dst, " days "...)
		}
	}
	rem := int64(u % msPerDay)
	dst = civil.Append2(dst, rem/msPerHour)
	dst = append(dst, ':')
	dst = civil.Append2(dst, rem/msPerMinute%60)
	dst = append(dst, ':')
	dst = civil.Append2(dst, rem/msPerSecond%60)
	if f := rem % msPerSecond; f != 0 {
		dst = append(dst, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
	}
	return dst
}
