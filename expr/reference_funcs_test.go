package expr

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"millrace/civil"
)

// The reference interpreter's casts and functions; see reference_test.go.

// roundRat rounds q to s decimal places, halves away from zero.
func roundRat(q *big.Rat, s int32) *big.Rat {
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(s))), nil))
	x := new(big.Rat).Set(q)
	if s >= 0 {
		x.Mul(x, scale)
	} else {
		x.Quo(x, scale)
	}
	r := new(big.Rat).SetInt(roundHalfAway(x))
	if s >= 0 {
		return r.Quo(r, scale)
	}
	return r.Mul(r, scale)
}

func abs32(x int32) int32 { return max(x, -x) }

func floorRat(q *big.Rat, ceil bool) *big.Rat {
	f := new(big.Int).Div(q.Num(), q.Denom()) // Euclidean: floor for a positive denominator
	if ceil && !q.IsInt() {
		f.Add(f, big.NewInt(1))
	}
	return new(big.Rat).SetInt(f)
}

func refCast(x any, to typ) (any, error) {
	bad := fmt.Errorf("cannot cast %v to %s", x, to)
	switch to.k {
	case kString:
		return refString(x), nil
	case kBool:
		switch x := x.(type) {
		case int64:
			return x != 0, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "t", "yes", "y", "on", "1":
				return true, nil
			case "false", "f", "no", "n", "off", "0":
				return false, nil
			}
			return nil, bad
		}
		return x, nil
	case kInt32, kInt64:
		var r *big.Rat
		switch x := x.(type) {
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			v, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, bad
			}
			r = ratOf(v)
		case float64:
			f := math.Round(x)
			if math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
				return nil, bad
			}
			r = new(big.Rat).SetFloat64(f)
		default:
			r, _ = asRat(x)
			r = roundRat(r, 0)
		}
		lim := int64(math.MaxInt64)
		if to.k == kInt32 {
			lim = math.MaxInt32
		}
		if r.Cmp(ratOf(lim)) > 0 || r.Cmp(ratOf(-lim-1)) < 0 {
			return nil, bad
		}
		return r.Num().Int64(), nil
	case kFloat64:
		if s, ok := x.(string); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, bad
			}
			return f, nil
		}
		return asFloat(x), nil
	case kDecimal:
		var r *big.Rat
		switch x := x.(type) {
		case string:
			var ok bool
			if r, ok = new(big.Rat).SetString(strings.TrimSpace(x)); !ok {
				return nil, bad
			}
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, bad
			}
			r, _ = new(big.Rat).SetString(strconv.FormatFloat(x, 'e', -1, 64))
		default:
			r, _ = asRat(x)
		}
		r = roundRat(r, to.s)
		limit := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(to.p-to.s)), nil))
		if new(big.Rat).Abs(r).Cmp(limit) >= 0 {
			return nil, bad
		}
		return decV{r, to.s}, nil
	case kDate:
		switch x := x.(type) {
		case tsV:
			return dateV(civil.FloorDiv(int64(x), msPerDay)), nil
		case string:
			t, err := time.Parse(time.DateOnly, strings.TrimSpace(x))
			if err != nil {
				return nil, bad
			}
			return dateV(t.Unix() / 86400), nil
		}
		return x, nil
	case kTimestamp:
		switch x := x.(type) {
		case dateV:
			return tsV(int64(x) * msPerDay), nil
		case string:
			t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(x))
			if err != nil {
				return nil, bad
			}
			return tsV(t.UnixMilli()), nil
		}
		return x, nil
	}
	return nil, bad
}

func utc(ms tsV) time.Time { return time.UnixMilli(int64(ms)).UTC() }

func asTs(v any) tsV {
	if d, ok := v.(dateV); ok {
		return tsV(int64(d) * msPerDay)
	}
	return v.(tsV)
}

func (r refRow) call(n *Call) (any, error) {
	switch n.Name {
	case "coalesce":
		for _, a := range n.Args {
			v, err := r.eval(a)
			if err != nil || v != nil {
				return v, err
			}
		}
		return nil, nil
	case "concat":
		var b strings.Builder
		for _, a := range n.Args {
			v, err := r.eval(a)
			if err != nil {
				return nil, err
			}
			if v != nil {
				b.WriteString(refString(v))
			}
		}
		return b.String(), nil
	}
	args := make([]any, len(n.Args))
	for i, a := range n.Args {
		v, err := r.eval(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	switch n.Name {
	case "nullif":
		if refCompare("=", args[0], args[1]) == true {
			return nil, nil
		}
		return args[0], nil
	case "greatest", "least":
		var best any
		for _, v := range args {
			if v == nil {
				continue
			}
			if best == nil {
				best = v
				continue
			}
			var c int
			if isFloat(v) || isFloat(best) {
				c = cmp.Compare(asFloat(v), asFloat(best))
			} else if refCompare("<", v, best) == true {
				c = -1
			} else if refCompare(">", v, best) == true {
				c = 1
			}
			if (n.Name == "greatest" && c > 0) || (n.Name == "least" && c < 0) {
				best = v
			}
		}
		return best, nil
	}
	for _, a := range args {
		if a == nil {
			return nil, nil
		}
	}
	switch n.Name {
	case "lower":
		return strings.ToLower(args[0].(string)), nil
	case "upper":
		return strings.ToUpper(args[0].(string)), nil
	case "length":
		return int64(utf8.RuneCountInString(args[0].(string))), nil
	case "substr", "substring":
		rs := []rune(args[0].(string))
		from := args[1].(int64)
		to := int64(math.MaxInt64)
		if len(args) == 3 {
			if args[2].(int64) < 0 {
				return nil, errors.New("negative substring length")
			}
			to = from + args[2].(int64)
		}
		from = max(from, 1)
		to = min(to, int64(len(rs))+1)
		if to <= from {
			return "", nil
		}
		return string(rs[from-1 : to-1]), nil
	case "trim", "ltrim", "rtrim":
		cut := " "
		if len(args) == 2 {
			cut = args[1].(string)
		}
		f := map[string]func(string, string) string{"trim": strings.Trim, "ltrim": strings.TrimLeft, "rtrim": strings.TrimRight}[n.Name]
		return f(args[0].(string), cut), nil
	case "starts_with":
		return strings.HasPrefix(args[0].(string), args[1].(string)), nil
	case "ends_with":
		return strings.HasSuffix(args[0].(string), args[1].(string)), nil
	case "contains":
		return strings.Contains(args[0].(string), args[1].(string)), nil
	case "abs":
		switch x := args[0].(type) {
		case int64:
			if x == math.MinInt64 {
				return nil, errRefOverflow
			}
			return max(x, -x), nil
		case float64:
			return math.Abs(x), nil
		case decV:
			return decV{new(big.Rat).Abs(x.r), x.s}, nil
		}
	case "round":
		d := int32(0)
		if len(args) == 2 {
			d = int32(args[1].(int64))
		}
		switch x := args[0].(type) {
		case int64:
			if d >= 0 {
				return x, nil
			}
			return refCast(decV{roundRat(ratOf(x), d), 0}, tInt64)
		case float64:
			p := math.Pow10(int(abs32(d)))
			switch {
			case math.Abs(x) >= 1<<52:
				return x, nil
			case d >= 0:
				return math.Round(x*p) / p, nil
			}
			return math.Round(x/p) * p, nil
		case decV:
			if d >= x.s {
				return x, nil
			}
			return decV{roundRat(x.r, d), max(d, 0)}, nil
		}
	case "floor", "ceil", "ceiling":
		ceil := n.Name != "floor"
		switch x := args[0].(type) {
		case int64:
			return x, nil
		case float64:
			if ceil {
				return math.Ceil(x), nil
			}
			return math.Floor(x), nil
		case decV:
			return decV{floorRat(x.r, ceil), 0}, nil
		}
	case "date":
		switch x := args[0].(type) {
		case string:
			return refCast(x, tDate)
		case dateV:
			return x, nil
		}
		return dateV(civil.FloorDiv(int64(args[0].(tsV)), msPerDay)), nil
	case "date_trunc":
		t := utc(asTs(args[1]))
		switch args[0].(string) {
		case "second":
			t = t.Truncate(time.Second)
		case "minute":
			t = t.Truncate(time.Minute)
		case "hour":
			t = t.Truncate(time.Hour)
		case "day":
			t = t.Truncate(24 * time.Hour)
		case "week":
			t = t.Truncate(24*time.Hour).AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
		case "month":
			t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		case "quarter":
			t = time.Date(t.Year(), (t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
		case "year":
			t = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return tsV(t.UnixMilli()), nil
	case "year", "month", "day", "hour", "minute", "second", "day_of_week", "day_of_year":
		t := utc(asTs(args[0]))
		return map[string]int64{"year": int64(t.Year()), "month": int64(t.Month()), "day": int64(t.Day()),
			"hour": int64(t.Hour()), "minute": int64(t.Minute()), "second": int64(t.Second()),
			"day_of_week": int64(t.Weekday()), "day_of_year": int64(t.YearDay())}[n.Name], nil
	case "epoch_ms":
		return int64(asTs(args[0])), nil
	case "to_timestamp_ms":
		return tsV(args[0].(int64)), nil
	}
	return nil, fmt.Errorf("reference: no function %s", n.Name)
}

// roundHalfAway rounds a rational to the nearest integer, halves away from zero.
func roundHalfAway(q *big.Rat) *big.Int {
	num, den := new(big.Int).Abs(q.Num()), q.Denom()
	twice := new(big.Int).Add(new(big.Int).Mul(num, big.NewInt(2)), den)
	r := twice.Quo(twice, new(big.Int).Mul(den, big.NewInt(2)))
	if q.Sign() < 0 {
		r.Neg(r)
	}
	return r
}
