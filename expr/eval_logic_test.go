package expr

import (
	"strings"
	"testing"
)

// TestTruthTables checks SQL's three-valued logic over every pair of TRUE, FALSE and NULL,
// with columns on both sides and with constants on either side.
func TestTruthTables(t *testing.T) {
	vals := []any{true, false, nil}
	var l, r []any
	for _, a := range vals {
		for _, b := range vals {
			l, r = append(l, a), append(r, b)
		}
	}
	rec := batch(t, col{"l", "bool", l}, col{"r", "bool", r})
	defer rec.Release()
	// Rows: TT TF TN FT FF FN NT NF NN.
	for src, want := range map[string]string{
		"l AND r":          "true false NULL false false false NULL false NULL",
		"l OR r":           "true true true true false NULL true NULL NULL",
		"NOT l":            "false false false true true true NULL NULL NULL",
		"l IS NULL":        "false false false false false false true true true",
		"l IS NOT NULL":    "true true true true true true false false false",
		"l IS TRUE":        "true true true false false false false false false",
		"l IS NOT TRUE":    "false false false true true true true true true",
		"l IS FALSE":       "false false false true true true false false false",
		"l IS NOT FALSE":   "true true true false false false true true true",
		"l = r":            "true false NULL false true NULL NULL NULL NULL",
		"l <> r":           "false true NULL true false NULL NULL NULL NULL",
		"l < r":            "false false NULL true false NULL NULL NULL NULL",
		"l >= r":           "true true NULL false true NULL NULL NULL NULL",
		"l AND TRUE":       "true true true false false false NULL NULL NULL",
		"l AND FALSE":      "false false false false false false false false false",
		"l AND NULL":       "NULL NULL NULL false false false NULL NULL NULL",
		"NULL AND l":       "NULL NULL NULL false false false NULL NULL NULL",
		"l OR NULL":        "true true true NULL NULL NULL NULL NULL NULL",
		"TRUE OR l":        "true true true true true true true true true",
		"FALSE OR l":       "true true true false false false NULL NULL NULL",
		"NOT (l AND r)":    "false true NULL true true true NULL true NULL",
		"NOT l OR NOT r":   "false true NULL true true true NULL true NULL",
		"l AND r OR NOT l": "true false NULL true true true NULL NULL NULL",
	} {
		got, err := evalText(t, rec, src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%s:\n got %s\nwant %s", src, g, want)
		}
	}
}

// TestShortCircuitErrors checks that rows the left side of AND/OR already decides report no
// errors from the right side.
func TestShortCircuitErrors(t *testing.T) {
	rec := batch(t, col{"x", "int64", []any{0, 9223372036854775807, 5}})
	defer rec.Release()
	for src, want := range map[string]string{
		"x < 10 AND x + 1 > 0":  "true | false | true",
		"x > 10 OR x + 1 > 0":   "true | true | true",
		"x < 10 AND x * 2 > 0":  "false | false | true",
		"x >= 10 OR -x * 2 < 0": "false | true | true",
	} {
		got, err := evalText(t, rec, src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if joined(got) != want {
			t.Errorf("%s = %s, want %s", src, joined(got), want)
		}
	}
	if _, err := evalText(t, rec, "x > 10 AND x + 1 > 0"); err == nil || err.Error() != "x + 1: integer overflow at row 1" {
		t.Errorf("the overflow on a row the left side does not decide must be reported: %v", err)
	}
}
