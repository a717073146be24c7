package gen

import "math"

// Channel codes, in the order of schema.Channels.
const (
	chanPOS uint8 = iota
	chanEcom
	chanATM
	chanTransfer
	numChannels
)

// category is a merchant category: its ISO 18245 code, how common it is, what a purchase
// there costs (a lognormal in euros, by median and shape) and how people pay there.
type category struct {
	mcc     int32
	name    string
	weight  float64              // share of merchants
	median  float64              // euros
	sigma   float64              // lognormal shape: 0.4 tight, 1 wide
	channel [numChannels]float64 // pos, ecom, atm, transfer
	// highValue marks categories where stolen accounts are cashed out.
	highValue bool
}

// categories lists the merchant categories. ATMs (6011) pay out banknotes: their amounts come
// from atmAmounts, not from median and sigma.
var categories = [...]category{
	{5411, "grocery", 0.20, 35, 0.6, [4]float64{0.93, 0.07, 0, 0}, false},
	{5812, "restaurants", 0.14, 30, 0.55, [4]float64{0.88, 0.12, 0, 0}, false},
	{5814, "fast food", 0.09, 12, 0.5, [4]float64{0.82, 0.18, 0, 0}, false},
	{5541, "fuel", 0.08, 55, 0.4, [4]float64{1, 0, 0, 0}, false},
	{5999, "retail", 0.08, 25, 0.9, [4]float64{0.5, 0.5, 0, 0}, false},
	{5691, "clothing", 0.06, 60, 0.7, [4]float64{0.6, 0.4, 0, 0}, false},
	{5912, "pharmacy", 0.05, 20, 0.7, [4]float64{0.95, 0.05, 0, 0}, false},
	{5815, "digital goods", 0.06, 9, 0.6, [4]float64{0, 1, 0, 0}, false},
	{4121, "taxi", 0.04, 18, 0.5, [4]float64{0.3, 0.7, 0, 0}, false},
	{5732, "electronics", 0.03, 200, 0.9, [4]float64{0.4, 0.6, 0, 0}, true},
	{6011, "atm", 0.07, 0, 0, [4]float64{0, 0, 1, 0}, false},
	{4829, "money transfer", 0.04, 150, 1.0, [4]float64{0, 0, 0, 1}, true},
	{7011, "hotels", 0.015, 250, 0.7, [4]float64{0.4, 0.6, 0, 0}, true},
	{4511, "airlines", 0.01, 350, 0.8, [4]float64{0.1, 0.9, 0, 0}, true},
	{5944, "jewelry", 0.005, 400, 0.9, [4]float64{0.7, 0.3, 0, 0}, true},
}

// atmMCC is the category code of cash withdrawals.
const atmMCC = 6011

// atmAmounts are the withdrawals an ATM pays out, in euros before conversion to a banknote
// figure of the local currency, with their weights.
var atmAmounts = [...]struct{ eur, weight float64 }{
	{20, 0.14}, {40, 0.08}, {50, 0.18}, {60, 0.05}, {80, 0.04}, {100, 0.22},
	{150, 0.05}, {200, 0.13}, {250, 0.03}, {300, 0.04}, {400, 0.02}, {500, 0.02},
}

// quantiles is the size of a category's amount table; sampling interpolates between entries.
const quantiles = 1024

// amountTable returns the lognormal quantiles of a category in euros at the midpoints of
// `quantiles` equal slices of probability, so the extremes stop near the 0.05% and 99.95%
// points instead of running off to infinity.
func amountTable(median, sigma float64) []float64 {
	t := make([]float64, quantiles)
	mu := math.Log(median)
	for i := range t {
		p := (float64(i) + 0.5) / quantiles
		t[i] = math.Exp(mu + sigma*math.Sqrt2*math.Erfinv(2*p-1))
	}
	return t
}

// sampleTable draws from a quantile table by inverse transform with linear interpolation.
func sampleTable(t []float64, u float64) float64 {
	x := u * float64(len(t)-1)
	i := int(x)
	if i >= len(t)-1 {
		return t[len(t)-1]
	}
	return t[i] + (t[i+1]-t[i])*(x-float64(i))
}
