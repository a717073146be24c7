package nexmark

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPersonsLookLikeTheBenchmarks(t *testing.T) {
	cfg := testConfig(100_000)
	persons := generate(t, cfg, Persons, 1<<12)
	card := regexp.MustCompile(`^\d{4} \d{4} \d{4} \d{4}$`)
	email := regexp.MustCompile(`^[a-z ]{1,6}@[a-z ]{1,4}\.com$`)
	states := map[string]int{}
	for i := range persons.rows {
		if !card.MatchString(persons.str["credit_card"][i]) || !email.MatchString(persons.str["email_address"][i]) {
			t.Fatalf("person %d: card %q, email %q", i, persons.str["credit_card"][i], persons.str["email_address"][i])
		}
		first, last, ok := strings.Cut(persons.str["name"][i], " ")
		if !ok || !slices.Contains(firstNames[:], first) || !slices.Contains(lastNames[:], last) {
			t.Fatalf("person %d: name %q", i, persons.str["name"][i])
		}
		if !slices.Contains(usCities[:], persons.str["city"][i]) {
			t.Fatalf("person %d: city %q", i, persons.str["city"][i])
		}
		states[persons.str["state"][i]]++
	}
	if len(states) != len(usStates) {
		t.Fatalf("states %v", states)
	}
}

func BenchmarkPersons(b *testing.B) { benchmarkKind(b, Persons) }
