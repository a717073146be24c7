package scale

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"millrace/civil"
)

// Calendar says which days carry the events a load follows besides the time of day and
// the day of the week: the end of the month, its last business day, paydays and holidays.
// Weekends are Saturday and Sunday; a business day is neither a weekend nor a holiday.
// Dates are UTC.
type Calendar struct {
	// Paydays are the days of the month on which pay arrives (1 to 31; a day past the end
	// of a short month is its last day). A payday that is not a business day moves to the
	// business day before it.
	Paydays []int `json:"paydays" yaml:"paydays"`
	// Holidays are days off besides weekends.
	Holidays []Holiday `json:"holidays" yaml:"holidays"`
}

// Holiday is one day off.
type Holiday struct {
	// Date is the day, as 2024-03-29.
	Date string `json:"date" yaml:"date"`
	Name string `json:"name" yaml:"name"`
}

// The kinds of calendar event. A profile learns one factor per kind, so every payday
// teaches the next one, and every holiday the next holiday.
const (
	EventMonthEnd        = "month end"
	EventLastBusinessDay = "last business day"
	EventPayday          = "payday"
	EventHoliday         = "holiday"
)

// Event is a calendar event on one day.
type Event struct {
	// Kind is one of the Event constants.
	Kind string
	// Name is how a reason names it: the kind, or the holiday's name.
	Name string
}

// DefaultCalendar has paydays on the 1st and the 15th and no holidays.
func DefaultCalendar() Calendar { return Calendar{Paydays: []int{1, 15}} }

// Validate reports the first payday or holiday that makes no sense.
func (c Calendar) Validate() error {
	for _, d := range c.Paydays {
		if d < 1 || d > 31 {
			return fmt.Errorf("scale calendar: payday %d is not a day of the month (1 to 31)", d)
		}
	}
	for i, h := range c.Holidays {
		if _, err := time.Parse(time.DateOnly, h.Date); err != nil {
			return fmt.Errorf("scale calendar: holiday %d (%q): date %q is not YYYY-MM-DD", i+1, h.Name, h.Date)
		}
	}
	return nil
}

// ReadCalendarFile reads a calendar from a YAML (or JSON) file:
//
//	paydays: [15]
//	holidays:
//	  - {date: 2024-01-01, name: New Year's Day}
//
// An unknown key, a payday outside 1 to 31 or a date not written YYYY-MM-DD is an error
// naming the file.
func ReadCalendarFile(path string) (Calendar, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Calendar{}, fmt.Errorf("read calendar: %w", err)
	}
	var c Calendar
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Calendar{}, fmt.Errorf("read calendar %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Calendar{}, fmt.Errorf("read calendar %s: %w", path, err)
	}
	return c, nil
}

// ParsePaydays reads a comma-separated list of days of the month, as "1,15".
func ParsePaydays(s string) ([]int, error) {
	var days []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil || d < 1 || d > 31 {
			return nil, fmt.Errorf("payday %q is not a day of the month (1 to 31)", f)
		}
		days = append(days, d)
	}
	return days, nil
}

// ParseHolidays reads a comma-separated list of dates, as "2024-01-01,2024-03-29", each
// named "holiday".
func ParseHolidays(s string) ([]Holiday, error) {
	var hs []Holiday
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, f); err != nil {
			return nil, fmt.Errorf("holiday %q is not a date YYYY-MM-DD", f)
		}
		hs = append(hs, Holiday{Date: f, Name: EventHoliday})
	}
	return hs, nil
}

// calendarDays answers a calendar's questions about days, given as days since 1970-01-01.
type calendarDays struct {
	paydays  []int
	holidays map[int64]string
	events   map[int64][]Event // memo of Events by day
}

func newCalendarDays(c Calendar) *calendarDays {
	cd := &calendarDays{paydays: slices.Clone(c.Paydays), holidays: map[int64]string{}, events: map[int64][]Event{}}
	for _, h := range c.Holidays {
		if t, err := time.Parse(time.DateOnly, h.Date); err == nil {
			name := h.Name
			if name == "" {
				name = EventHoliday
			}
			cd.holidays[dayOf(t)] = name
		}
	}
	return cd
}

// dayOf is the day since 1970-01-01 that t falls on, in UTC.
func dayOf(t time.Time) int64 { return civil.FloorDiv(t.Unix(), 86400) }

func dateOf(day int64) time.Time { return time.Unix(day*86400, 0).UTC() }

// business says whether day is neither a weekend nor a holiday.
func (cd *calendarDays) business(day int64) bool {
	if wd := dateOf(day).Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, off := cd.holidays[day]
	return !off
}

// businessOnOrBefore is the last business day at or before day.
func (cd *calendarDays) businessOnOrBefore(day int64) int64 {
	for range 31 {
		if cd.business(day) {
			return day
		}
		day--
	}
	return day
}

// Events returns the calendar events of day, in the order month end, last business day,
// payday, holiday.
func (cd *calendarDays) Events(day int64) []Event {
	if ev, ok := cd.events[day]; ok {
		return ev
	}
	t := dateOf(day)
	y, m, _ := t.Date()
	last := dayOf(time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)) - 1
	var ev []Event
	if day == last {
		ev = append(ev, Event{Kind: EventMonthEnd, Name: EventMonthEnd})
	}
	if day == cd.businessOnOrBefore(last) {
		ev = append(ev, Event{Kind: EventLastBusinessDay, Name: EventLastBusinessDay})
	}
	for _, p := range cd.paydays {
		nominal := min(dayOf(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))+int64(p)-1, last)
		if cd.businessOnOrBefore(nominal) == day {
			ev = append(ev, Event{Kind: EventPayday, Name: fmt.Sprintf("payday (the %s)", ordinal(p))})
			break
		}
	}
	// A payday early in next month may move back into this one (the 1st on a Saturday is
	// paid on the Friday before).
	next := dayOf(time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC))
	if !slices.ContainsFunc(ev, func(e Event) bool { return e.Kind == EventPayday }) {
		for _, p := range cd.paydays {
			if nominal := next + int64(p) - 1; nominal > day && cd.businessOnOrBefore(nominal) == day {
				ev = append(ev, Event{Kind: EventPayday, Name: fmt.Sprintf("payday (the %s)", ordinal(p))})
				break
			}
		}
	}
	if name, ok := cd.holidays[day]; ok {
		ev = append(ev, Event{Kind: EventHoliday, Name: name})
	}
	cd.events[day] = ev
	return ev
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
