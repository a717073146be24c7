package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration written as Go writes them (200ms, 5s, 10m, 1h30m, 1.5h)
// or with days, a unit Go lacks (1d, 2d12h; a day is 24 hours). A number without a unit is
// refused unless it is 0, because 90 could mean seconds as well as milliseconds.
func ParseDuration(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return 0, fmt.Errorf("empty duration: write e.g. 5s, 200ms, 10m, 1h30m or 1d")
	}
	if f, err := strconv.ParseFloat(text, 64); err == nil {
		if f == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%s needs a unit, as in %ss or %sms", text, text, text)
	}
	bad := fmt.Errorf("%q is not a duration: write e.g. 5s, 200ms, 10m, 1h30m or 1d", s)
	sign, body := time.Duration(1), text
	if rest, ok := strings.CutPrefix(body, "-"); ok {
		sign, body = -1, rest
	} else {
		body = strings.TrimPrefix(body, "+")
	}
	// Take the days out and leave the rest to time.ParseDuration.
	var days float64
	var rest strings.Builder
	for i := 0; i < len(body); {
		j := i
		for j < len(body) && (body[j] == '.' || body[j] >= '0' && body[j] <= '9') {
			j++
		}
		k := j
		for k < len(body) && body[k] != '.' && (body[k] < '0' || body[k] > '9') {
			k++
		}
		if j == i || k == j {
			return 0, bad
		}
		if body[j:k] == "d" {
			n, err := strconv.ParseFloat(body[i:j], 64)
			if err != nil {
				return 0, bad
			}
			days += n
		} else {
			rest.WriteString(body[i:k])
		}
		i = k
	}
	var d time.Duration
	if rest.Len() > 0 {
		var err error
		if d, err = time.ParseDuration(rest.String()); err != nil {
			return 0, bad
		}
	}
	dayPart := days * float64(24*time.Hour)
	if dayPart >= math.MaxInt64 || time.Duration(dayPart) > math.MaxInt64-d {
		return 0, fmt.Errorf("duration %q is too long", s)
	}
	d += time.Duration(dayPart)
	return sign * d, nil
}
