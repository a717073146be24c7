package scale

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCalendarEvents(t *testing.T) {
	cd := newCalendarDays(Calendar{Paydays: []int{1, 15, 31}, Holidays: []Holiday{{Date: "2024-03-29", Name: "Good Friday"}}})
	kinds := func(date string) string {
		d, err := time.Parse(time.DateOnly, date)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range cd.Events(dayOf(d)) {
			names = append(names, e.Name)
		}
		return strings.Join(names, ", ")
	}
	for date, want := range map[string]string{
		"2024-01-31": "month end, last business day, payday (the 31st)",
		"2024-02-29": "month end, last business day, payday (the 31st)", // the 31st of February is its last day
		"2024-03-28": "last business day, payday (the 31st)",            // the 29th is Good Friday, then a weekend
		"2024-03-29": "Good Friday",
		"2024-03-31": "month end",
		"2024-06-14": "payday (the 15th)", // the 15th is a Saturday
		"2024-05-31": "month end, last business day, payday (the 31st)",
		"2024-08-30": "last business day, payday (the 31st)",
		"2024-08-31": "month end",
		"2024-11-29": "last business day, payday (the 31st)", // the 30th is a Saturday
		"2024-07-10": "",
	} {
		if got := kinds(date); got != want {
			t.Errorf("%s: %q, want %q", date, got, want)
		}
	}
}

func TestCalendarMovesAPaydayBackIntoTheMonthBefore(t *testing.T) {
	cd := newCalendarDays(Calendar{Paydays: []int{1}})
	// 1 December 2024 is a Sunday: its pay arrives on Friday 29 November.
	ev := cd.Events(dayOf(time.Date(2024, 11, 29, 0, 0, 0, 0, time.UTC)))
	if len(ev) != 2 || ev[1].Name != "payday (the 1st)" {
		t.Errorf("29 November 2024: %+v", ev)
	}
	if ev := cd.Events(dayOf(time.Date(2024, 12, 2, 0, 0, 0, 0, time.UTC))); len(ev) != 0 {
		t.Errorf("2 December 2024: %+v, want no payday", ev)
	}
}

func TestReadCalendarFile(t *testing.T) {
	c, err := ReadCalendarFile(filepath.Join("..", "examples", "traces", "month-end.calendar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, MonthEndCalendar()) {
		t.Errorf("the shipped calendar %+v is not the month-end trace's %+v", c, MonthEndCalendar())
	}
	dir := t.TempDir()
	for body, want := range map[string]string{
		"paydays: [0]\n":                        "payday 0 is not a day of the month",
		"holidays: [{date: 29/03/2024}]\n":      `date "29/03/2024" is not YYYY-MM-DD`,
		"paydays: [15]\nweekends: [saturday]\n": "field weekends not found",
	} {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCalendarFile(path); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: %v, want an error naming the file with %q", body, err, want)
		}
	}
	if days, err := ParsePaydays("1, 15"); err != nil || !reflect.DeepEqual(days, []int{1, 15}) {
		t.Errorf("ParsePaydays: %v, %v", days, err)
	}
	if _, err := ParseHolidays("2024-13-01"); err == nil {
		t.Error("ParseHolidays took month 13")
	}
}
