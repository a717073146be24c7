package expr

import "testing"

func TestCaseAndFriends(t *testing.T) {
	rec := batch(t,
		col{"x", "int64", []any{-2, 0, 3, nil, 9223372036854775807}},
		col{"y", "int64", []any{nil, 5, nil, 7, 1}},
		col{"s", "string", []any{"a", nil, "c", "d", ""}},
		col{"f", "float64", []any{1.5, nil, -2.0, 0.0, 1.0}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"CASE WHEN x < 0 THEN 'neg' WHEN x = 0 THEN 'zero' ELSE 'pos' END": "neg | zero | pos | pos | pos",
		"CASE WHEN x < 0 THEN 'neg' WHEN x >= 0 THEN 'non-neg' END":        "neg | non-neg | non-neg | NULL | non-neg",
		"CASE x WHEN 0 THEN 'zero' WHEN 3 THEN 'three' END":                "NULL | zero | three | NULL | NULL",
		"CASE x WHEN NULL THEN 1 ELSE 2 END":                               "2 | 2 | 2 | 2 | 2",
		"CASE WHEN x > 0 THEN x ELSE 1.5 END":                              "1.5 | 1.5 | 3.0 | 1.5 | 9223372036854775807.0",
		"CASE WHEN s = 'a' THEN s || '!' ELSE coalesce(s, '?') END":        "a! | ? | c | d | ",
		"CASE WHEN x < 100 THEN x + 1 ELSE -1 END":                         "-1 | 1 | 4 | -1 | -1",
		"CASE WHEN y IS NULL THEN x * 2 ELSE y END":                        "-4 | 5 | 6 | 7 | 1",
		"CASE WHEN TRUE THEN 1 END":                                        "1 | 1 | 1 | 1 | 1",
		"CASE WHEN FALSE THEN 1 END":                                       "NULL | NULL | NULL | NULL | NULL",
		"coalesce(y, x)":                                                   "-2 | 5 | 3 | 7 | 1",
		"coalesce(y, x, 0)":                                                "-2 | 5 | 3 | 7 | 1",
		"coalesce(s, 'none')":                                              "a | none | c | d | ",
		"coalesce(NULL, NULL)":                                             "NULL | NULL | NULL | NULL | NULL",
		"coalesce(y, x + 1)":                                               "-1 | 5 | 4 | 7 | 1",
		"coalesce(f, x)":                                                   "1.5 | 0 | -2 | 0 | 1",
		"nullif(x, 0)":                                                     "-2 | NULL | 3 | NULL | 9223372036854775807",
		"nullif(s, '')":                                                    "a | NULL | c | d | NULL",
		"nullif(y, x)":                                                     "NULL | 5 | NULL | 7 | 1",
		"greatest(x, y)":                                                   "-2 | 5 | 3 | 7 | 9223372036854775807",
		"least(x, y, 0)":                                                   "-2 | 0 | 0 | 0 | 0",
		"greatest(s, 'b')":                                                 "b | b | c | d | b",
		"least(NULL, y)":                                                   "NULL | 5 | NULL | 7 | 1",
		"greatest(f, 0.5)":                                                 "1.5 | 0.5 | 0.5 | 0.5 | 1",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v\n want %q", src, joined(got), err, want)
		}
	}
}

// TestCaseEvaluatesArmsLazily: an arm is computed only for the rows that take it, so an
// overflow in a row that another arm handles is no error; COALESCE likewise.
func TestCaseEvaluatesArmsLazily(t *testing.T) {
	rec := batch(t, col{"x", "int64", []any{1, 9223372036854775807, nil}}, col{"y", "int64", []any{5, 6, 7}})
	defer rec.Release()
	for src, want := range map[string]string{
		"CASE WHEN x < 100 THEN x + 1 ELSE 0 END":     "2 | 0 | 0",
		"CASE WHEN x > 100 THEN 0 ELSE x * 2 END":     "2 | 0 | NULL",
		"coalesce(CASE WHEN x < 10 THEN x END, y)":    "1 | 6 | 7",
		"coalesce(y, x + 1)":                          "5 | 6 | 7",
		"CASE WHEN x + 1 > 0 THEN 1 END IS NULL":      "",
		"CASE x WHEN 1 THEN y * 2 WHEN 2 THEN -x END": "10 | NULL | NULL",
	} {
		got, err := evalText(t, rec, src)
		if want == "" {
			if err == nil || err.Error() != "x + 1: integer overflow at row 1" {
				t.Errorf("%s: %v", src, err)
			}
			continue
		}
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, joined(got), err, want)
		}
	}
}
