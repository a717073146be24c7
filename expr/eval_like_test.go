package expr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestLike(t *testing.T) {
	for _, tc := range []struct {
		s, pattern string
		escape     string // "-" for the default
		ci         bool
		want       bool
	}{
		{"abc", "abc", "-", false, true},
		{"abc", "ab", "-", false, false},
		{"abc", "a%", "-", false, true},
		{"abc", "%c", "-", false, true},
		{"abc", "%b%", "-", false, true},
		{"abc", "a%c", "-", false, true},
		{"ac", "a%c", "-", false, true},
		{"a", "a%a", "-", false, false}, // pieces must not overlap
		{"aa", "a%a", "-", false, true},
		{"abcabc", "%bc%bc", "-", false, true},
		{"abcab", "%bc%bc", "-", false, false},
		{"", "", "-", false, true},
		{"", "%", "-", false, true},
		{"", "_", "-", false, false},
		{"x", "%%", "-", false, true},
		{"abc", "a_c", "-", false, true},
		{"ac", "a_c", "-", false, false},
		{"abbc", "a_c", "-", false, false},
		{"日本語", "日_語", "-", false, true}, // _ is one character, not one byte
		{"日本語", "___", "-", false, true},
		{"日本語", "____", "-", false, false},
		{"日本語", "%語", "-", false, true},
		{"aXbXc", "a_b%c", "-", false, true},
		{"mississippi", "%iss%ppi", "-", false, true},
		{"mississippi", "m%s_s%i", "-", false, true},
		{"mississippi", "%s_p%", "-", false, true},
		{"a%c", `a\%c`, "-", false, true},
		{"abc", `a\%c`, "-", false, false},
		{"a_c", `a\_c`, "-", false, true},
		{"abc", `a\_c`, "-", false, false},
		{`a\c`, `a\\c`, "-", false, true},
		{"a%c", "a!%c", "!", false, true},
		{"abc", "a!%c", "!", false, false},
		{`a\bc`, `a\%`, "", false, true}, // ESCAPE '' turns escaping off
		{"a!c", "a!!c", "!", false, true},
		{"50%", "%!%", "!", false, true},
		{"ABC", "abc", "-", false, false},
		{"ABC", "abc", "-", true, true},
		{"Straße", "STRASSE", "-", true, false}, // simple folding: ß has no one-letter upper case
		{"ÉCOLE", "é%", "-", true, true},
		{"ǅungla", "ǆ%", "-", true, true},
		{"Ωmega", "ω_ega", "-", true, true},
		{"abc", "A%C", "-", true, true},
		{"a\nb", "a_b", "-", false, true},
		{"a\nb", "a%", "-", false, true},
		{"\xffab", "_ab", "-", false, true}, // an invalid byte counts as one character
		{"\xffab", "%b", "-", false, true},
	} {
		esc := ""
		if tc.escape != "-" {
			esc = fmt.Sprintf(" ESCAPE '%s'", tc.escape)
		}
		op := "LIKE"
		if tc.ci {
			op = "ILIKE"
		}
		lit := strings.ReplaceAll(tc.pattern, "'", "''")
		for _, src := range []string{fmt.Sprintf("s %s '%s'%s", op, lit, esc), fmt.Sprintf("s %s p%s", op, esc)} {
			rec := batch(t, col{"s", "string", []any{tc.s}}, col{"p", "string", []any{tc.pattern}})
			got, err := evalText(t, rec, src)
			rec.Release()
			if err != nil {
				t.Errorf("%q %s: %v", tc.s, src, err)
				continue
			}
			if got[0] != fmt.Sprint(tc.want) {
				t.Errorf("%q %s = %s, want %v", tc.s, src, got[0], tc.want)
			}
			// The reference regular expression agrees.
			e := `\`
			if tc.escape != "-" {
				e = tc.escape
			}
			if ref := likeRegexp(tc.pattern, e, tc.ci).MatchString(tc.s); ref != tc.want && !strings.Contains(tc.s, "\xff") {
				t.Errorf("reference disagrees on %q %s %q", tc.s, op, tc.pattern)
			}
		}
	}
}

func TestLikeNullsAndNot(t *testing.T) {
	rec := batch(t, col{"s", "string", []any{"abc", nil, "xbc"}}, col{"p", "string", []any{"a%", "a%", nil}})
	defer rec.Release()
	for src, want := range map[string]string{
		"s LIKE 'a%'":     "true | NULL | false",
		"s NOT LIKE 'a%'": "false | NULL | true",
		"s LIKE p":        "true | NULL | NULL",
		"s NOT ILIKE p":   "false | NULL | NULL",
		"s LIKE NULL":     "NULL | NULL | NULL",
		"'abc' LIKE p":    "true | true | NULL",
	} {
		got, err := evalText(t, rec, src)
		if err != nil || joined(got) != want {
			t.Errorf("%s = %q, %v; want %q", src, joined(got), err, want)
		}
	}
	// A pattern column that ends in the escape character matches nothing.
	rec2 := batch(t, col{"s", "string", []any{`a\`}}, col{"p", "string", []any{`a\`}})
	defer rec2.Release()
	if got, err := evalText(t, rec2, "s LIKE p"); err != nil || got[0] != "false" {
		t.Errorf("dangling escape: %v %v", got, err)
	}
}

func BenchmarkLike(b *testing.B) {
	for _, p := range []string{"p%", "%ns%", "t_st", "%a%e%"} {
		b.Run(p, func(b *testing.B) { benchEval(b, "channel LIKE '"+p+"'") })
	}
}

// TestLikeColumnPaths checks the whole-column matchers (equality, prefix, suffix, substring)
// against likeMatch, on rows whose neighbours could fake a match across a row boundary, with
// pieces shorter and longer than eight bytes, and on sliced columns.
func TestLikeColumnPaths(t *testing.T) {
	vals := []any{"ab", "cd", "abcdefghijk", "", "bc", "xxabcdefghijkyy", "abcdefghij", "jk", "a", "bcd", "日本語", "本", "d"}
	rec := batch(t, col{"s", "string", vals})
	defer rec.Release()
	sliced := rec.NewSlice(1, 12)
	defer sliced.Release()
	for _, p := range []string{"ab", "%bc%", "%dc%", "%d", "d%", "%cd", "abcdefghij%", "%cdefghijk", "%defghijky%",
		"%本%", "%語", "日%", "%", "%%", "", "%a", "a%k", "%b%d%"} {
		for _, r := range []arrow.RecordBatch{rec, sliced} {
			got, err := evalText(t, r, "s LIKE '"+p+"'")
			if err != nil {
				t.Fatal(err)
			}
			col := r.Column(0).(*array.String)
			for i := range got {
				want := likeMatch([]byte(col.Value(i)), []byte(p), '\\', false)
				if got[i] != fmt.Sprint(want) {
					t.Errorf("%q LIKE %q = %s, want %v", col.Value(i), p, got[i], want)
				}
			}
		}
	}
}
