package gen

import "math"

// country is where accounts live and merchants trade.
type country struct {
	code     string  // ISO 3166-1 alpha-2
	currency string  // ISO 4217
	weight   float64 // share of accounts and merchants
	lat, lon float64 // centre of where merchants stand
	dlat     float64 // half-extent of that area in degrees
	dlon     float64
	perEUR   float64 // local currency units per euro, rounded
	step     int64   // smallest amount step in cents: 100 where prices carry no minor unit
}

// countries is the world's map, weighted roughly by card spending.
var countries = [...]country{
	{"US", "USD", 0.22, 38.5, -92.0, 7.0, 20.0, 1.08, 1},
	{"GB", "GBP", 0.08, 52.6, -1.6, 1.8, 1.6, 0.85, 1},
	{"DE", "EUR", 0.09, 51.0, 10.3, 2.2, 2.8, 1, 1},
	{"FR", "EUR", 0.07, 46.7, 2.4, 2.4, 2.8, 1, 1},
	{"ES", "EUR", 0.05, 40.3, -3.6, 2.2, 3.2, 1, 1},
	{"IT", "EUR", 0.05, 42.9, 12.5, 2.8, 2.5, 1, 1},
	{"NL", "EUR", 0.03, 52.2, 5.4, 0.6, 0.9, 1, 1},
	{"CH", "CHF", 0.02, 46.9, 8.0, 0.4, 1.2, 0.95, 1},
	{"SE", "SEK", 0.02, 59.3, 16.0, 2.5, 2.5, 11.5, 1},
	{"PL", "PLN", 0.03, 52.0, 19.3, 1.8, 2.8, 4.3, 1},
	{"CA", "CAD", 0.04, 45.8, -78.0, 2.5, 12.0, 1.48, 1},
	{"MX", "MXN", 0.03, 21.5, -101.0, 3.5, 5.5, 19.5, 1},
	{"BR", "BRL", 0.04, -18.0, -46.0, 6.0, 6.0, 5.9, 1},
	{"JP", "JPY", 0.05, 35.8, 138.0, 2.5, 3.5, 162, 100},
	{"AU", "AUD", 0.03, -32.0, 148.0, 4.0, 6.0, 1.65, 1},
	{"IN", "INR", 0.05, 22.5, 78.5, 6.0, 6.0, 90, 1},
	{"SG", "SGD", 0.02, 1.35, 103.82, 0.08, 0.15, 1.45, 1},
	{"AE", "AED", 0.02, 24.8, 55.0, 0.7, 1.2, 3.97, 1},
	{"ZA", "ZAR", 0.02, -28.5, 26.0, 3.5, 4.5, 20.2, 1},
	{"NG", "NGN", 0.02, 8.5, 6.5, 3.5, 3.5, 1650, 100},
}

// countryCDF is the cumulative distribution of countries by weight.
func countryCDF() []float64 {
	w := make([]float64, len(countries))
	for i, c := range countries {
		w[i] = c.weight
	}
	return cumulative(w)
}

// localCents converts an amount in euros into cents of country c's currency, rounded to the
// currency's step and never below one step.
func (c *country) localCents(eur float64) int64 {
	cents := int64(eur*c.perEUR*100 + 0.5)
	if c.step > 1 {
		cents = (cents + c.step/2) / c.step * c.step
	}
	if cents < c.step {
		cents = c.step
	}
	return cents
}

// niceCents rounds an amount in euros, converted to country c's currency, to a banknote-like
// figure (a multiple of half its leading power of ten: 20, 50, 100, 3,000, 350), in cents.
func (c *country) niceCents(eur float64) int64 {
	v := eur * c.perEUR
	step := math.Pow(10, math.Floor(math.Log10(v))) / 2
	return int64(math.Max(1, math.Round(v/step))*step*100 + 0.5)
}
