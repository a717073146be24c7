package civil

import (
	"testing"
	"time"
)

func TestDaysAndDateMatchTime(t *testing.T) {
	for days := int64(-800_000); days <= 3_000_000; days += 997 {
		tm := time.Unix(days*86400, 0).UTC()
		y, m, d := Date(days)
		if y != int64(tm.Year()) || m != int64(tm.Month()) || d != int64(tm.Day()) {
			t.Fatalf("Date(%d) = %d-%d-%d, want %s", days, y, m, d, tm.Format(time.DateOnly))
		}
		if got := Days(y, m, d); got != days {
			t.Fatalf("Days(%d-%d-%d) = %d, want %d", y, m, d, got, days)
		}
	}
	for _, c := range []struct{ y, m, want int64 }{{2024, 2, 29}, {2023, 2, 28}, {1900, 2, 28}, {2000, 2, 29}, {2024, 4, 30}, {2024, 12, 31}} {
		if got := DaysIn(c.y, c.m); got != c.want {
			t.Errorf("DaysIn(%d, %d) = %d", c.y, c.m, got)
		}
	}
}
