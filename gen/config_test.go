package gen

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	// The zero values that have a meaning are filled in.
	cfg := DefaultConfig()
	cfg.Partitions, cfg.LateMax, cfg.Linger = 0, 0, 0
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Rows", func(c *Config) { c.Rows = -1 }},
		{"Duration", func(c *Config) { c.Duration = -time.Second }},
		{"Rate", func(c *Config) { c.Rate = 0 }},
		{"Rate", func(c *Config) { c.Rate = math.NaN() }},
		{"Accounts", func(c *Config) { c.Accounts = 0 }},
		{"Merchants", func(c *Config) { c.Merchants = maxEntities + 1 }},
		{"FraudRate", func(c *Config) { c.FraudRate = 0.6 }},
		{"LateRate", func(c *Config) { c.LateRate = -0.1 }},
		{"DupRate", func(c *Config) { c.DupRate = 1.5 }},
		{"CorruptRate", func(c *Config) { c.CorruptRate = 2 }},
		{"Disorder", func(c *Config) { c.Disorder = -time.Second }},
		{"LateMax", func(c *Config) { c.LateMax = time.Microsecond }},
		{"Partitions", func(c *Config) { c.Partitions = -2 }},
		{"Partition", func(c *Config) { c.Partitions, c.Partition = 4, 4 }},
		{"Speed", func(c *Config) { c.Speed = -1 }},
		{"Linger", func(c *Config) { c.Linger = -time.Second }},
		{"Surges[0]", func(c *Config) { c.Surges = []Surge{{At: time.Hour, For: time.Minute, Factor: 0}} }},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.HasPrefix(err.Error(), "gen: ") {
			t.Errorf("%s: Validate() = %v, want an error naming it", tc.field, err)
		}
		if _, nerr := New(cfg); nerr == nil {
			t.Errorf("%s: New accepted the config", tc.field)
		}
	}
	// Several problems are reported together.
	cfg := DefaultConfig()
	cfg.Rate, cfg.Accounts = -1, 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Rate") || !strings.Contains(err.Error(), "Accounts") {
		t.Errorf("Validate() = %v, want both Rate and Accounts named", err)
	}
}

func TestRowsShare(t *testing.T) {
	for _, rows := range []int64{0, 1, 2, 10, 1_000_003} {
		var sum int64
		for p := range 4 {
			cfg := DefaultConfig()
			cfg.Rows, cfg.Partitions, cfg.Partition = rows, 4, p
			n := cfg.rowsShare()
			if rows == 0 {
				if n != -1 {
					t.Fatalf("no bound gave share %d", n)
				}
				continue
			}
			sum += n
		}
		if rows > 0 && sum != rows {
			t.Errorf("Rows %d split into shares summing to %d", rows, sum)
		}
	}
}
