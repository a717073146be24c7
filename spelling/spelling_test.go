package spelling

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"window", "window", 0},
		{"windw", "window", 1},
		{"watermrak", "watermark", 1}, // a swap of neighbours is one edit
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // optimal string alignment, not full Damerau-Levenshtein
		{"évent", "event", 1},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	keys := []string{"from", "where", "select", "group_by", "window", "having", "join"}
	tests := []struct {
		word       string
		candidates []string
		want       string
	}{
		{"windw", keys, "window"},
		{"Window", keys, "window"},
		{"groupby", keys, "group_by"},
		{"selct", keys, "select"},
		{"frm", keys, "from"},
		{"colour", keys, ""},
		{"x", keys, ""},
		{"partition", []string{"partition_by"}, "partition_by"},
		{"velocty", []string{"tx", "velocity"}, "velocity"},
		{"a", []string{"b"}, ""},           // one letter from one letter is no hint
		{"tz", []string{"tx", "ts"}, "tx"}, // ties go to the first
		{"window", []string{"window"}, ""}, // nothing to suggest for a known word
		{"amout", []string{"amount", "mout"}, "amount"},
	}
	for _, tt := range tests {
		if got := Closest(tt.word, tt.candidates); got != tt.want {
			t.Errorf("Closest(%q, %v) = %q, want %q", tt.word, tt.candidates, got, tt.want)
		}
	}
	if got := DidYouMean("windw", keys); got != ` (did you mean "window"?)` {
		t.Errorf("didYouMean = %q", got)
	}
}

func TestDidYouMeanColumns(t *testing.T) {
	names := []string{"amount", "account_id", "card_id", "channel"}
	for in, want := range map[string]string{
		"amout":   ` (did you mean "amount"?)`,
		"AMOUNT_": ` (did you mean "amount"?)`,
		"card":    "",
		"chanel":  ` (did you mean "channel"?)`,
		"x":       "",
		"cardid":  ` (did you mean "card_id"?)`,
	} {
		if got := DidYouMean(in, names); got != want {
			t.Errorf("DidYouMean(%q) = %q, want %q", in, got, want)
		}
	}
}
