package expr

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestIn(t *testing.T) {
	rec := batch(t,
		col{"i", "int32", []any{1, 2, nil, 4}},
		col{"j", "int64", []any{4, 2, 3, 1}},
		col{"s", "string", []any{"EUR", "usd", nil, "GBP"}},
		col{"d", "decimal(18,2)", []any{"1.50", "2.00", "0.10", nil}},
		col{"f", "float64", []any{0.5, math.Copysign(0, -1), 1e300, 2.0}},
		col{"b", "bool", []any{true, false, nil, true}},
	)
	defer rec.Release()
	for src, want := range map[string]string{
		"i IN (1, 4)":                         "true | false | NULL | true",
		"i NOT IN (1, 4)":                     "false | true | NULL | false",
		"i IN (1, NULL)":                      "true | NULL | NULL | NULL",
		"i NOT IN (1, NULL)":                  "false | NULL | NULL | NULL",
		"i IN (NULL)":                         "NULL | NULL | NULL | NULL",
		"NULL IN (1, 2)":                      "NULL | NULL | NULL | NULL",
		"i IN (j)":                            "false | true | NULL | false",
		"i IN (j, 1)":                         "true | true | NULL | false",
		"i NOT IN (j, 99)":                    "true | false | NULL | true",
		"i IN (3000000000, 2)":                "false | true | NULL | false",
		"i IN (1.5, 2.0)":                     "false | true | NULL | false",
		"s IN ('EUR', 'USD', 'GBP')":          "true | false | NULL | true",
		"upper(s) IN ('EUR', 'USD', 'GBP')":   "true | true | NULL | true",
		"d IN (1.5, 2)":                       "true | true | false | NULL",
		"d IN (1.501, 0.1)":                   "false | false | true | NULL",
		"f IN (0.5, 0)":                       "true | true | false | false",
		"f IN (1e300, 2)":                     "false | false | true | true",
		"b IN (TRUE)":                         "true | false | NULL | true",
		"b NOT IN (TRUE, FALSE)":              "false | false | NULL | false",
		"DATE '2024-01-01' IN ('2024-01-01')": "true | true | true | true",
		"j IN (i + 3, 2)":                     "true | true | NULL | false",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, joined(got), err, want)
		}
	}
}

// TestInLargeSets crosses the size at which a list becomes a hash set.
func TestInLargeSets(t *testing.T) {
	var vals, strs []any
	for i := 0; i < 100; i++ {
		vals = append(vals, i)
		strs = append(strs, fmt.Sprintf("k%d", i))
	}
	rec := batch(t, col{"x", "int64", vals}, col{"s", "string", strs})
	defer rec.Release()
	for _, size := range []int{linearMax - 1, linearMax, linearMax + 1, 50} {
		var nums, keys []string
		for i := 0; i < size; i++ {
			nums = append(nums, fmt.Sprint(i*2))
			keys = append(keys, fmt.Sprintf("'k%d'", i*2))
		}
		for _, src := range []string{"x IN (" + strings.Join(nums, ", ") + ")", "s IN (" + strings.Join(keys, ", ") + ")"} {
			got, err := evalText(t, rec, src)
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range got {
				want := i%2 == 0 && i/2 < size
				if g != fmt.Sprint(want) {
					t.Errorf("%d elements, row %d: %s", size, i, g)
					break
				}
			}
		}
	}
}

// TestInWideIntegers keeps a large set of integers that span too wide a range for a bitmap
// in a hash map.
func TestInWideIntegers(t *testing.T) {
	var items []string
	var col0 []any
	for i := 0; i < 30; i++ {
		col0 = append(col0, i*100_000+i%2)
		items = append(items, fmt.Sprint(i*100_000))
	}
	rec := batch(t, col{"x", "int64", col0})
	defer rec.Release()
	e, err := CompileString("x IN ("+strings.Join(items, ", ")+")", rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if in, ok := e.root.(*inEval); !ok || in.dense != nil || in.i64.m == nil {
		t.Fatalf("expected a hash set, got %T", e.root)
	}
	got, err := evalText(t, rec, e.String())
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if g != fmt.Sprint(i%2 == 0) {
			t.Errorf("row %d: %s", i, g)
		}
	}
}
