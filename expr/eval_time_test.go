package expr

import "testing"

func TestTimeFunctions(t *testing.T) {
	rec := batch(t, col{"ts", "timestamp", []any{
		"2024-01-01T00:00:00Z",     // Monday, new year
		"2023-12-31T23:59:59.999Z", // Sunday, last millisecond of the year
		"2024-02-29T12:34:56.789Z", // leap day, Thursday
		"1969-12-31T23:59:59.5Z",   // before the epoch, Wednesday
		"2024-03-31T01:30:00Z",     // a European DST switch day: nothing special in UTC
		nil,
	}})
	defer rec.Release()
	for src, want := range map[string]string{
		"date(ts)":                                  "2024-01-01 | 2023-12-31 | 2024-02-29 | 1969-12-31 | 2024-03-31 | NULL",
		"date_trunc('second', ts)":                  "2024-01-01T00:00:00.000Z | 2023-12-31T23:59:59.000Z | 2024-02-29T12:34:56.000Z | 1969-12-31T23:59:59.000Z | 2024-03-31T01:30:00.000Z | NULL",
		"date_trunc('minute', ts)":                  "2024-01-01T00:00:00.000Z | 2023-12-31T23:59:00.000Z | 2024-02-29T12:34:00.000Z | 1969-12-31T23:59:00.000Z | 2024-03-31T01:30:00.000Z | NULL",
		"date_trunc('hour', ts)":                    "2024-01-01T00:00:00.000Z | 2023-12-31T23:00:00.000Z | 2024-02-29T12:00:00.000Z | 1969-12-31T23:00:00.000Z | 2024-03-31T01:00:00.000Z | NULL",
		"date_trunc('day', ts)":                     "2024-01-01T00:00:00.000Z | 2023-12-31T00:00:00.000Z | 2024-02-29T00:00:00.000Z | 1969-12-31T00:00:00.000Z | 2024-03-31T00:00:00.000Z | NULL",
		"date_trunc('week', ts)":                    "2024-01-01T00:00:00.000Z | 2023-12-25T00:00:00.000Z | 2024-02-26T00:00:00.000Z | 1969-12-29T00:00:00.000Z | 2024-03-25T00:00:00.000Z | NULL",
		"date_trunc('MONTH', ts)":                   "2024-01-01T00:00:00.000Z | 2023-12-01T00:00:00.000Z | 2024-02-01T00:00:00.000Z | 1969-12-01T00:00:00.000Z | 2024-03-01T00:00:00.000Z | NULL",
		"date_trunc('quarter', ts)":                 "2024-01-01T00:00:00.000Z | 2023-10-01T00:00:00.000Z | 2024-01-01T00:00:00.000Z | 1969-10-01T00:00:00.000Z | 2024-01-01T00:00:00.000Z | NULL",
		"date_trunc('years', ts)":                   "2024-01-01T00:00:00.000Z | 2023-01-01T00:00:00.000Z | 2024-01-01T00:00:00.000Z | 1969-01-01T00:00:00.000Z | 2024-01-01T00:00:00.000Z | NULL",
		"date_trunc('millisecond', ts)":             "2024-01-01T00:00:00.000Z | 2023-12-31T23:59:59.999Z | 2024-02-29T12:34:56.789Z | 1969-12-31T23:59:59.500Z | 2024-03-31T01:30:00.000Z | NULL",
		"year(ts)":                                  "2024 | 2023 | 2024 | 1969 | 2024 | NULL",
		"month(ts)":                                 "1 | 12 | 2 | 12 | 3 | NULL",
		"day(ts)":                                   "1 | 31 | 29 | 31 | 31 | NULL",
		"hour(ts)":                                  "0 | 23 | 12 | 23 | 1 | NULL",
		"minute(ts)":                                "0 | 59 | 34 | 59 | 30 | NULL",
		"second(ts)":                                "0 | 59 | 56 | 59 | 0 | NULL",
		"day_of_week(ts)":                           "1 | 0 | 4 | 3 | 0 | NULL",
		"extract(dow from ts)":                      "1 | 0 | 4 | 3 | 0 | NULL",
		"day_of_year(ts)":                           "1 | 365 | 60 | 365 | 91 | NULL",
		"epoch_ms(ts)":                              "1704067200000 | 1704067199999 | 1709210096789 | -500 | 1711848600000 | NULL",
		"to_timestamp_ms(epoch_ms(ts) + 1)":         "2024-01-01T00:00:00.001Z | 2024-01-01T00:00:00.000Z | 2024-02-29T12:34:56.790Z | 1969-12-31T23:59:59.501Z | 2024-03-31T01:30:00.001Z | NULL",
		"ts + INTERVAL '1 day' - ts":                "1 day 00:00:00 | 1 day 00:00:00 | 1 day 00:00:00 | 1 day 00:00:00 | 1 day 00:00:00 | NULL",
		"date(ts) + 1":                              "2024-01-02 | 2024-01-01 | 2024-03-01 | 1970-01-01 | 2024-04-01 | NULL",
		"hour(date(ts))":                            "0 | 0 | 0 | 0 | 0 | NULL",
		"date('2024-02-29')":                        "2024-02-29 | 2024-02-29 | 2024-02-29 | 2024-02-29 | 2024-02-29 | 2024-02-29",
		"date_trunc('day', '2024-02-29T10:00:00Z')": "2024-02-29T00:00:00.000Z | 2024-02-29T00:00:00.000Z | 2024-02-29T00:00:00.000Z | 2024-02-29T00:00:00.000Z | 2024-02-29T00:00:00.000Z | 2024-02-29T00:00:00.000Z",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v\nwant %q", src, joined(got), err, want)
		}
	}
}

// TestTimestampUnits reads timestamp columns stored in seconds, microseconds and
// nanoseconds: they are seen as milliseconds, rounded toward the past.
func TestTimestampUnits(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		vals []int64
		want string
	}{
		{"s", []int64{1, -1}, "1970-01-01T00:00:01.000Z | 1969-12-31T23:59:59.000Z"},
		{"us", []int64{1500, -1}, "1970-01-01T00:00:00.001Z | 1969-12-31T23:59:59.999Z"},
		{"ns", []int64{2_999_999, -1}, "1970-01-01T00:00:00.002Z | 1969-12-31T23:59:59.999Z"},
	} {
		rec := unitBatch(t, tc.typ, tc.vals)
		got, err := evalText(t, rec, "date_trunc('millisecond', ts)")
		rec.Release()
		if err != nil || joined(got) != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.typ, joined(got), err, tc.want)
		}
	}
}
