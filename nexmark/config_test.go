package nexmark

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsTheReferenceStandard(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.FirstEventRate != 10_000 || cfg.NumActivePeople != 1000 || cfg.NumInFlightAuctions != 100 ||
		cfg.HotAuctionRatio != 2 || cfg.HotSellersRatio != 4 || cfg.HotBiddersRatio != 4 {
		t.Fatalf("not the reference's standard parameters: %+v", cfg)
	}
	if cfg.AvgBidBytes != 0 || cfg.AvgAuctionBytes != 0 || cfg.AvgPersonBytes != 0 {
		t.Fatalf("extra should be empty by default: %+v", cfg)
	}
	if want := time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC).UnixMilli(); DefaultBaseTime != want {
		t.Fatalf("DefaultBaseTime %d, want %d", int64(DefaultBaseTime), want)
	}
}

func TestValidateNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Events", func(c *Config) { c.Events = -1 }},
		{"Partitions", func(c *Config) { c.Partitions = 0 }},
		{"Partition", func(c *Config) { c.Partitions, c.Partition = 4, 4 }},
		{"Partition", func(c *Config) { c.Partition = -1 }},
		{"FirstEventRate", func(c *Config) { c.FirstEventRate = 0 }},
		{"FirstEventRate", func(c *Config) { c.FirstEventRate = maxEventRate + 1 }},
		{"NumActivePeople", func(c *Config) { c.NumActivePeople = 0 }},
		{"NumInFlightAuctions", func(c *Config) { c.NumInFlightAuctions = 0 }},
		{"HotAuctionRatio", func(c *Config) { c.HotAuctionRatio = 0 }},
		{"HotSellersRatio", func(c *Config) { c.HotSellersRatio = maxHotRatio + 1 }},
		{"HotBiddersRatio", func(c *Config) { c.HotBiddersRatio = -3 }},
		{"AvgBidBytes", func(c *Config) { c.AvgBidBytes = -1 }},
		{"AvgPersonBytes", func(c *Config) { c.AvgPersonBytes = maxEventBytes + 1 }},
		{"BatchRows", func(c *Config) { c.BatchRows = 0 }},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field+" ") {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}

func TestKindNames(t *testing.T) {
	for _, k := range []Kind{Bids, Auctions, Persons} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if k, err := ParseKind("people"); err != nil || k != Persons {
		t.Errorf("ParseKind(people) = %v, %v", k, err)
	}
	if _, err := ParseKind("bidz"); err == nil || !strings.Contains(err.Error(), `"bidz"`) {
		t.Errorf("ParseKind(bidz): %v", err)
	}
	if s := Kind(9).String(); s != "kind(9)" {
		t.Errorf("Kind(9) = %q", s)
	}
}
