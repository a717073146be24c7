package window

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := []Spec{
		{Kind: Tumble, Size: time.Minute},
		{Kind: Hop, Size: 10 * time.Minute, Every: time.Minute},
		{Kind: Hop, Size: 10 * time.Millisecond, Every: 3 * time.Millisecond},
		{Kind: Hop, Size: time.Minute, Every: time.Minute},
		{Kind: Session, Gap: 30 * time.Minute},
	}
	for _, s := range good {
		if err := s.Validate(); err != nil {
			t.Errorf("%v: %v", s, err)
		}
	}
	bad := []struct {
		spec Spec
		want string
	}{
		{Spec{}, "unknown kind"},
		{Spec{Kind: Tumble}, "tumble size must be positive"},
		{Spec{Kind: Tumble, Size: -time.Second}, "tumble size must be positive"},
		{Spec{Kind: Tumble, Size: 1500 * time.Microsecond}, "not a whole number of milliseconds"},
		{Spec{Kind: Tumble, Size: time.Minute, Every: time.Second}, "use hop"},
		{Spec{Kind: Tumble, Size: time.Minute, Gap: time.Second}, "no gap"},
		{Spec{Kind: Hop, Size: time.Minute}, "hop slide (every) must be positive"},
		{Spec{Kind: Hop, Size: time.Minute, Every: 2 * time.Minute}, "longer than its size"},
		{Spec{Kind: Hop, Size: time.Minute, Every: time.Second, Gap: time.Second}, "no gap"},
		{Spec{Kind: Session}, "session gap must be positive"},
		{Spec{Kind: Session, Gap: time.Minute, Size: time.Minute}, "only a gap"},
	}
	for _, c := range bad {
		err := c.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "window: ") {
			t.Errorf("%+v: got %v, want an error containing %q", c.spec, err, c.want)
		}
	}
}

func TestEndAndString(t *testing.T) {
	hop := Spec{Kind: Hop, Size: 10 * time.Minute, Every: time.Minute}
	if got := hop.End(-600_000); got != 0 {
		t.Errorf("hop End(-600000) = %d, want 0", got)
	}
	if got := (Spec{Kind: Session, Gap: time.Second}).End(5); got != 1005 {
		t.Errorf("session End(5) = %d, want 1005", got)
	}
	if got := hop.String(); got != "hop 10m0s every 1m0s" {
		t.Errorf("String = %q", got)
	}
	if got := Kind(9).String(); got != "Kind(9)" {
		t.Errorf("Kind(9).String() = %q", got)
	}
	if got := hop.PerRecord(); got != 10 {
		t.Errorf("PerRecord = %d, want 10", got)
	}
	if got := (Spec{Kind: Hop, Size: 10 * time.Millisecond, Every: 3 * time.Millisecond}).PerRecord(); got != 4 {
		t.Errorf("PerRecord(hop 10ms every 3ms) = %d, want 4", got)
	}
}

func TestFloorTo(t *testing.T) {
	cases := []struct{ ts, n, want int64 }{
		{0, 60, 0}, {59, 60, 0}, {60, 60, 60}, {-1, 60, -60}, {-60, 60, -60}, {-61, 60, -120},
	}
	for _, c := range cases {
		if got := floorTo(c.ts, c.n); got != c.want {
			t.Errorf("floorTo(%d, %d) = %d, want %d", c.ts, c.n, got, c.want)
		}
	}
}
