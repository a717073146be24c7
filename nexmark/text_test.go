package nexmark

import (
	"bytes"
	"fmt"
	"math/bits"
	"millrace/wyrand"
	"regexp"
	"strconv"
	"testing"
)

func TestChannelsHaveNamesAndURLs(t *testing.T) {
	cfg := DefaultConfig()
	tab := newTables(&cfg)
	if len(tab.chans) != 4+channels {
		t.Fatalf("%d channels", len(tab.chans))
	}
	url := regexp.MustCompile(`^https://www\.nexmark\.com/[a-z_]{3,4}/[a-z_]{3,4}/[a-z_]{3,4}/item\.htm\?query=1(&channel_id=(\d+))?$`)
	withID := 0
	for i := range tab.chans {
		c := &tab.chans[i]
		l := tab.chanLens[i]
		name, u := string(c.name[:l.name]), string(c.url[:l.url])
		if i < 4 && name != hotChannels[i] || i >= 4 && name != fmt.Sprintf("channel-%d", i-4) {
			t.Fatalf("channel %d is named %q", i, name)
		}
		m := url.FindStringSubmatch(u)
		if m == nil || len(u) > maxURLLen {
			t.Fatalf("channel %d has URL %q", i, u)
		}
		if m[2] != "" {
			withID++
			if i < 4 || m[2] != strconv.FormatUint(uint64(bits.Reverse32(uint32(i-4))), 10) {
				t.Fatalf("channel %d has URL %q", i, u)
			}
		}
	}
	if withID < channels*85/100 || withID > channels*95/100 {
		t.Fatalf("%d of %d channel URLs carry a channel id, want about 90%%", withID, channels)
	}
	again := newTables(&cfg)
	cfg.Seed++
	other := newTables(&cfg)
	if !bytes.Equal(tab.words, again.words) || tab.chans[77] != again.chans[77] {
		t.Fatal("tables differ for the same seed")
	}
	if bytes.Equal(tab.words, other.words) {
		t.Fatal("tables do not depend on the seed")
	}
}

func TestTextIsTrimmedRandomWords(t *testing.T) {
	cfg := DefaultConfig()
	tab := newTables(&cfg)
	r := rng{wyrand.Source{State: 3}}
	spaces, total := 0, 0
	for range 20_000 {
		s := tab.text(&r, 20)
		if len(s) > 19 || bytes.HasPrefix(s, []byte(" ")) || bytes.HasSuffix(s, []byte(" ")) {
			t.Fatalf("text %q", s)
		}
		for _, b := range s {
			if b != ' ' && (b < 'a' || b > 'z') {
				t.Fatalf("text %q", s)
			}
		}
		spaces += bytes.Count(s, []byte(" "))
		total += len(s)
	}
	if f := float64(spaces) / float64(total); f < 0.05 || f > 0.1 {
		t.Fatalf("%.3f of text is spaces, want about 1/13", f)
	}
}

func TestExtraPadsToTheAverageSize(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AvgAuctionBytes = 500
	tab := newTables(&cfg)
	r := rng{wyrand.Source{State: 9}}
	before := r
	if e := tab.extra(&r, 32, 0); e != nil || r != before {
		t.Fatal("extra without an average drew randomness or padding")
	}
	if e := tab.extra(&r, 600, 500); e != nil {
		t.Fatal("an event over the average was padded")
	}
	sum := 0
	const draws = 10_000
	for range draws {
		e := tab.extra(&r, 120, 500)
		if len(e) < 380-76 || len(e) >= 380+76 || bytes.ContainsAny(e, " _") {
			t.Fatalf("extra of %d bytes", len(e))
		}
		if len(e) > maxExtra(500) {
			t.Fatalf("extra of %d bytes exceeds the bound %d", len(e), maxExtra(500))
		}
		sum += len(e)
	}
	if avg := float64(sum) / draws; avg < 375 || avg > 385 {
		t.Fatalf("extra averages %.1f bytes, want 380", avg)
	}
}
