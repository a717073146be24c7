package expr

import (
	"fmt"
	"strconv"
	"strings"

	"millrace/civil"
)

// Timestamps are milliseconds since 1970-01-01T00:00:00Z, dates are days since 1970-01-01 and
// intervals are milliseconds; package civil reads and writes dates and timestamps, and there
// is no time zone other than UTC, hence no daylight saving time.

const (
	msPerSecond = 1000
	msPerMinute = 60 * msPerSecond
	msPerHour   = 60 * msPerMinute
	msPerDay    = 24 * msPerHour
)

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
