package expr

import (
	"strings"
	"testing"
)

func TestExtractFunctions(t *testing.T) {
	rec := batch(t,
		col{"url", "string", []any{"https://www.nexmark.com/mcc/jzfh/item.htm?query=1&channel_id=1146617856",
			"https://www.nexmark.com/ngd/item.htm?channel_id=42", "channel_id=7&x=1", "", nil, "a/b"}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"split_index(url, '/', 3)":                               "mcc | ngd | NULL | NULL | NULL | NULL",
		"split_index(url, '/', 0)":                               "https: | https: | channel_id=7&x=1 |  | NULL | a",
		"split_index(url, '/', 1)":                               " |  | NULL | NULL | NULL | b",
		"split_index(url, '/', -1)":                              "NULL | NULL | NULL | NULL | NULL | NULL",
		"split_index(url, '://', 1)":                             "www.nexmark.com/mcc/jzfh/item.htm?query=1&channel_id=1146617856 | www.nexmark.com/ngd/item.htm?channel_id=42 | NULL | NULL | NULL | NULL",
		"regexp_extract(url, '(&|^)channel_id=([^&]*)', 2)":      "1146617856 | NULL | 7 | NULL | NULL | NULL",
		"regexp_extract(url, '[?&]channel_id=([0-9]+)')":         "1146617856 | 42 | NULL | NULL | NULL | NULL",
		"regexp_extract(url, 'item\\.htm', 0)":                   "item.htm | item.htm | NULL | NULL | NULL | NULL",
		"count_char(url, 'c')":                                   "4 | 2 | 1 | 0 | NULL | 0",
		"count_char(url, 'channel')":                             "1 | 1 | 1 | 0 | NULL | 0",
		"regexp_extract(url, '(x)?channel', 1) IS NULL":          "true | true | true | true | true | true",
		"count_char(coalesce(url, 'cc'), 'c')":                   "4 | 2 | 1 | 0 | 2 | 0",
		"split_index('a,b,c', ',', 2) || count_char('ccc', 'c')": "c3 | c3 | c3 | c3 | c3 | c3",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v\nwant %q", src, joined(got), err, want)
		}
	}
	for src, want := range map[string]string{
		"split_index(url, '', 1)":                 "split_index() splits at a delimiter of at least one character, not ''",
		"split_index(url, '/', length(url))":      "split_index() needs a constant integer as argument 3",
		"regexp_extract(url, '(', 1)":             "regexp_extract(): pattern \"(\"",
		"regexp_extract(url, 'a(b)', 2)":          "regexp_extract(): group 2 of pattern \"a(b)\", which has groups 0 to 1",
		"regexp_extract(url, url)":                "regexp_extract() needs a constant string as argument 2",
		"count_char(url, '')":                     "count_char() counts a text of at least one character, not ''",
		"date_format(url, 'yyyy')":                "date_format() needs a timestamp as argument 1",
		"date_format(to_timestamp_ms(0), 'YYYY')": `date_format(): pattern "YYYY": "Y" is not one of yyyy, MM, dd, HH, mm, ss, SSS`,
	} {
		if _, err := evalText(t, rec, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", src, err, want)
		}
	}
}

func TestDateFormat(t *testing.T) {
	rec := batch(t, col{"ms", "int64", []any{1436918400000, 1436961599999, nil, -1}})
	defer rec.Release()
	for src, want := range map[string]string{
		"date_format(to_timestamp_ms(ms), 'yyyy-MM-dd')":              "2015-07-15 | 2015-07-15 | NULL | 1969-12-31",
		"date_format(to_timestamp_ms(ms), 'HH:mm')":                   "00:00 | 11:59 | NULL | 23:59",
		"date_format(to_timestamp_ms(ms), 'yyyy-MM-dd HH:mm:ss.SSS')": "2015-07-15 00:00:00.000 | 2015-07-15 11:59:59.999 | NULL | 1969-12-31 23:59:59.999",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v\nwant %q", src, joined(got), err, want)
		}
	}
}
