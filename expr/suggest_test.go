package expr

import "testing"

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"amount", "amount", 0}, {"amout", "amount", 1}, {"amuont", "amount", 1},
		{"sumx", "sum", 1}, {"kitten", "sitting", 3}, {"", "abc", 3}, {"日本", "日本語", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	names := []string{"amount", "account_id", "card_id", "channel"}
	for in, want := range map[string]string{
		"amout":   ` (did you mean "amount"?)`,
		"AMOUNT_": ` (did you mean "amount"?)`,
		"card":    "",
		"chanel":  ` (did you mean "channel"?)`,
		"x":       "",
		"cardid":  ` (did you mean "card_id"?)`,
	} {
		if got := didYouMean(in, names); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", in, got, want)
		}
	}
}
