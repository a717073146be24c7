package gen

import (
	"math"
	"testing"

	"millrace/schema"
)

func TestCountryTable(t *testing.T) {
	if len(countries) < 20 {
		t.Errorf("%d countries, want about 20", len(countries))
	}
	codes := map[string]bool{}
	var weight float64
	for _, c := range countries {
		if len(c.code) != 2 || len(c.currency) != 3 || codes[c.code] {
			t.Errorf("country %q / %q", c.code, c.currency)
		}
		codes[c.code] = true
		weight += c.weight
		if c.perEUR <= 0 || c.step < 1 || math.Abs(c.lat) > 90 || math.Abs(c.lon) > 180 {
			t.Errorf("country %s: %+v", c.code, c)
		}
	}
	if math.Abs(weight-1) > 0.05 {
		t.Errorf("country weights sum to %g", weight)
	}
	if len(schema.Channels) != int(numChannels) {
		t.Fatalf("schema has %d channels, the generator %d", len(schema.Channels), numChannels)
	}
	for ch, name := range schema.Channels {
		if len(name) > 8 {
			t.Errorf("channel %d %q does not fit a word", ch, name)
		}
	}
}
