package format

import (
	"fmt"

	"millrace/civil"
)

// parseTimestamp parses an RFC 3339 timestamp with any offset (`2024-03-01T12:00:00+01:00`,
// fraction optional, `T` or a space between date and time) and returns milliseconds since the
// epoch in UTC. Digits below the millisecond are dropped toward the past.
func parseTimestamp(b []byte) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("%q is not an RFC 3339 timestamp: %s", b, why)
	}
	if len(b) < 19 {
		return bad("too short")
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return bad("want YYYY-MM-DDTHH:MM:SS")
	}
	if t := b[10]; t != 'T' && t != 't' && t != ' ' {
		return bad("want T between date and time")
	}
	if month < 1 || month > 12 || day < 1 || int64(day) > civil.DaysIn(int64(year), int64(month)) {
		return bad("no such date")
	}
	if hour > 23 || minute > 59 || sec > 59 {
		return bad("no such time of day")
	}
	i := 19
	var ms int64
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if i-start < 3 {
				ms = ms*10 + int64(b[i]-'0')
			}
		}
		n := i - start
		if n == 0 {
			return bad("empty fraction")
		}
		for ; n < 3; n++ {
			ms *= 10
		}
	}
	if i >= len(b) {
		return bad("missing offset (Z or ±HH:MM)")
	}
	var offset int64 // seconds east of UTC
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return bad("offset must be ±HH:MM")
		}
		oh, ok1 := digits(b[i+1 : i+3])
		om, ok2 := digits(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return bad("offset must be ±HH:MM")
		}
		offset = int64(oh*3600 + om*60)
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return bad("missing offset (Z or ±HH:MM)")
	}
	if i != len(b) {
		return bad("trailing characters")
	}
	secs := civil.Days(int64(year), int64(month), int64(day))*86400 + int64(hour*3600+minute*60+sec) - offset
	return secs*1000 + ms, nil
}

// digits parses a short run of ASCII digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseDate parses YYYY-MM-DD into days since the epoch.
func parseDate(b []byte) (int32, error) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", b)
	}
	y, ok1 := digits(b[0:4])
	m, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || int64(d) > civil.DaysIn(int64(y), int64(m)) {
		return 0, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", b)
	}
	return int32(civil.Days(int64(y), int64(m), int64(d))), nil
}
