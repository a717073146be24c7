package spec

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
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
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
		if got := Suggest(tt.word, tt.candidates); got != tt.want {
			t.Errorf("Suggest(%q, %v) = %q, want %q", tt.word, tt.candidates, got, tt.want)
		}
	}
	if got := didYouMean("windw", keys); got != ` (did you mean "window"?)` {
		t.Errorf("didYouMean = %q", got)
	}
}
