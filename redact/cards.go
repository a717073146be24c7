package redact

import "strings"

// Cards masks every card number in s (see the package documentation): a run of 13 to 19
// digits, optionally grouped by single spaces or dashes, starting with 2 to 6 and
// Luhn-valid, keeps its last 4 digits. When digit groups run on past a card number, every
// span of whole groups that is one is masked.
func Cards(s string) string {
	var out []byte // nil until something is masked
	i := 0
	for i < len(s) {
		if !isDigit(s[i]) {
			i++
			continue
		}
		groups := digitGroups(s, i)
		end := groups[len(groups)-1][1]
		for a := 0; a < len(groups); a++ {
			for b := len(groups) - 1; b >= a; b-- {
				from, to := groups[a][0], groups[b][1]
				if isCard(s[from:to]) {
					if out == nil {
						out = []byte(s)
					}
					maskDigits(out[from:to])
					a = b
					break
				}
			}
		}
		i = end
	}
	if out == nil {
		return s
	}
	return string(out)
}

// digitGroups returns the [start, end) of each group of digits from i on that single
// spaces or dashes join.
func digitGroups(s string, i int) [][2]int {
	var groups [][2]int
	for {
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		groups = append(groups, [2]int{start, i})
		if i+1 < len(s) && (s[i] == ' ' || s[i] == '-') && isDigit(s[i+1]) {
			i++
			continue
		}
		return groups
	}
}

// isCard tells whether text, digits grouped by single spaces or dashes, is a card number.
func isCard(text string) bool {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(text)
	if len(digits) < 13 || len(digits) > 19 || digits[0] < '2' || digits[0] > '6' {
		return false
	}
	return luhn(digits)
}

// luhn tells whether digits pass the Luhn check.
func luhn(digits string) bool {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// maskDigits turns every digit of b but the last 4 into '*'.
func maskDigits(b []byte) {
	keep := 4
	for i := len(b) - 1; i >= 0; i-- {
		if !isDigit(b[i]) {
			continue
		}
		if keep > 0 {
			keep--
			continue
		}
		b[i] = '*'
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
