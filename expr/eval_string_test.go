package expr

import "testing"

func TestStringFunctions(t *testing.T) {
	rec := batch(t,
		col{"s", "string", []any{"Hello", "ÉCOLE straße", "", nil, "  pad  ", "日本語テキスト"}},
		col{"n", "int64", []any{2, 3, 1, 1, nil, -1}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"lower(s)": "hello | école straße |  | NULL |   pad   | 日本語テキスト",
		"upper(s)":/* simple case mapping: ß has no one-letter upper case */ "HELLO | ÉCOLE STRAßE |  | NULL |   PAD   | 日本語テキスト",
		"length(s)":             "5 | 12 | 0 | NULL | 7 | 7",
		"substr(s, 2)":          "ello | COLE straße |  | NULL |  pad   | 本語テキスト",
		"substr(s, 2, 3)":       "ell | COL |  | NULL |  pa | 本語テ",
		"substr(s, 0, 3)":       "He | ÉC |  | NULL |    | 日本",
		"substr(s, -5, 3)":      " |  |  | NULL |  | ",
		"substr(s, n, 2)":       "el | OL |  | NULL | NULL | ",
		"substr(s, 100)":        " |  |  | NULL |  | ",
		"substring(s FROM 3)":   "llo | OLE straße |  | NULL | pad   | 語テキスト",
		"trim(s)":               "Hello | ÉCOLE straße |  | NULL | pad | 日本語テキスト",
		"ltrim(s)":              "Hello | ÉCOLE straße |  | NULL | pad   | 日本語テキスト",
		"rtrim(s)":              "Hello | ÉCOLE straße |  | NULL |   pad | 日本語テキスト",
		"trim(s, 'Hoe')":        "ll | ÉCOLE straß |  | NULL |   pad   | 日本語テキスト",
		"trim(s, '日ト')":         "Hello | ÉCOLE straße |  | NULL |   pad   | 本語テキス",
		"s || '!'":              "Hello! | ÉCOLE straße! | ! | NULL |   pad  ! | 日本語テキスト!",
		"s || n":                "Hello2 | ÉCOLE straße3 | 1 | NULL | NULL | 日本語テキスト-1",
		"concat(s, '-', n)":     "Hello-2 | ÉCOLE straße-3 | -1 | -1 |   pad  - | 日本語テキスト--1",
		"concat(NULL)":          " |  |  |  |  | ",
		"starts_with(s, 'He')":  "true | false | false | NULL | false | false",
		"ends_with(s, 'ße')":    "false | true | false | NULL | false | false",
		"contains(s, '語')":      "false | false | false | NULL | false | true",
		"contains(s, '')":       "true | true | true | NULL | true | true",
		"length(lower(s) || s)": "10 | 24 | 0 | NULL | 14 | 14",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v\nwant %q", src, joined(got), err, want)
		}
	}
	if _, err := evalText(t, rec, "substr(s, 1, n - 2)"); err == nil || err.Error() != "substr(s, 1, n - 2): negative substring length at row 2" {
		t.Errorf("negative length: %v", err)
	}
	// Invalid UTF-8 passes through case mapping unchanged.
	bad := batch(t, col{"s", "string", []any{"a\xffB"}})
	defer bad.Release()
	if got, err := evalText(t, bad, "upper(s) || lower(s)"); err != nil || got[0] != "A\xffBa\xffb" {
		t.Errorf("invalid UTF-8: %q %v", got, err)
	}
}
