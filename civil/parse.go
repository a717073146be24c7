package civil

import (
	"fmt"
	"time"
)

// FloorDiv divides rounding toward negative infinity, so that times before the epoch fall
// into the day (or second, or window) that holds them: FloorDiv(-1, 1000) is -1.
func FloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// ParseDate parses YYYY-MM-DD into days since 1970-01-01.
func ParseDate[S ~string | ~[]byte](b S) (int32, error) {
	days, ok := dateAt(b)
	if !ok || len(b) != 10 {
		return 0, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", string(b))
	}
	return int32(days), nil
}

// ParseRFC3339 parses a timestamp as RFC 3339 writes it, the form records carry: date, `T`
// (or a space), time with seconds, an optional fraction and an offset, Z or ±HH:MM
// (`2024-03-01T12:00:00.250+01:00`). It returns milliseconds since the epoch in UTC; digits
// below the millisecond are dropped toward the past.
func ParseRFC3339[S ~string | ~[]byte](b S) (int64, error) { return parseTimestamp(b, rfc3339, nil) }

// ParseRecordTimestamp parses a timestamp as records in files and messages carry it: RFC 3339,
// or the same without an offset, as DuckDB, Spark and many exports write it
// (`2026-03-02 00:00:01.494`), which is a wall-clock time in zone (nil means UTC). A wall-clock
// time that a daylight saving change skips or repeats is read as time.Date reads it. It
// returns milliseconds since the epoch in UTC; digits below the millisecond are dropped toward
// the past.
func ParseRecordTimestamp[S ~string | ~[]byte](b S, zone *time.Location) (int64, error) {
	return parseTimestamp(b, record, zone)
}

// ParseTimestamp parses a timestamp as SQL text may write it: RFC 3339, or with the seconds
// left out (`2024-03-01 12:30`), without an offset (meaning UTC), with an offset of ±HH,
// ±HHMM or ±HH:MM, or a date alone (midnight UTC). It returns milliseconds since the epoch
// in UTC; digits below the millisecond are dropped toward the past.
func ParseTimestamp[S ~string | ~[]byte](b S) (int64, error) { return parseTimestamp(b, sqlText, nil) }

// syntax is which timestamps parseTimestamp accepts.
type syntax uint8

const (
	rfc3339 syntax = iota // seconds and an offset required
	record                // seconds required; without an offset, a wall-clock time in a zone
	sqlText               // seconds, time and offset optional; without an offset, UTC
)

// parseTimestamp parses a timestamp of the form ParseRFC3339, ParseRecordTimestamp or
// ParseTimestamp accepts; zone is the zone of a record timestamp without an offset.
func parseTimestamp[S ~string | ~[]byte](b S, form syntax, zone *time.Location) (int64, error) {
	strict := form != sqlText
	bad := func(why string) (int64, error) {
		switch form {
		case rfc3339:
			return 0, fmt.Errorf("%q is not an RFC 3339 timestamp: %s", string(b), why)
		case record:
			return 0, fmt.Errorf("%q is not a timestamp (want YYYY-MM-DDTHH:MM:SS[.fff] then Z, ±HH:MM or nothing): %s", string(b), why)
		}
		return 0, fmt.Errorf("%q is not a timestamp: %s", string(b), why)
	}
	if strict && len(b) < 19 {
		return bad("too short")
	}
	_, ok1 := numAt(b, 0, 4)
	_, ok2 := numAt(b, 5, 2)
	_, ok3 := numAt(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || b[4] != '-' || b[7] != '-' {
		return bad("want YYYY-MM-DDTHH:MM:SSZ")
	}
	days, ok := dateAt(b)
	if !ok {
		return bad("no such date")
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
	} else if strict {
		return bad("want HH:MM:SS after the date")
	}
	if hh > 23 || mm > 59 || ss > 59 {
		return bad("no such time of day")
	}
	var offset int64 // seconds east of UTC
	hasOffset := true
	switch {
	case i < len(b) && (b[i] == 'Z' || b[i] == 'z'):
		i++
	case i < len(b) && (b[i] == '+' || b[i] == '-'):
		if strict && (len(b)-i != 6 || b[i+3] != ':') {
			return bad("offset must be Z or ±HH:MM")
		}
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
	case form == rfc3339:
		return bad("missing offset (Z or ±HH:MM)")
	default:
		hasOffset = false
	}
	if i != len(b) {
		return bad("trailing text after the time")
	}
	secs := days*86400 + hh*3600 + mm*60 + ss - offset
	if !hasOffset && zone != nil && zone != time.UTC {
		secs = wallToUTC(secs, zone)
	}
	return secs*1000 + ms, nil
}

// wallToUTC turns a wall-clock time in zone, given as seconds since the epoch as if it were
// UTC, into seconds since the epoch.
func wallToUTC(wall int64, zone *time.Location) int64 {
	t := time.Unix(wall, 0).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, zone).Unix()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

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

// dateAt parses the YYYY-MM-DD at the start of b.
func dateAt[S ~string | ~[]byte](b S) (int64, bool) {
	y, ok1 := numAt(b, 0, 4)
	m, ok2 := numAt(b, 5, 2)
	d, ok3 := numAt(b, 8, 2)
	if !ok1 || !ok2 || !ok3 || b[4] != '-' || b[7] != '-' || m < 1 || m > 12 || d < 1 || d > DaysIn(y, m) {
		return 0, false
	}
	return Days(y, m, d), true
}
