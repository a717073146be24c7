package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"millrace/scale"
)

// readCalendar sets the simulation's calendar from --calendar, --paydays and --holidays.
func (f *scaleSimFlags) readCalendar(cmd *cobra.Command) error {
	cal := scale.DefaultCalendar()
	if f.calendar != "" {
		c, err := scale.ReadCalendarFile(f.calendar)
		if err != nil {
			return err
		}
		cal = c
	}
	if f.calendar == "" || cmd.Flags().Changed("paydays") {
		days, err := scale.ParsePaydays(f.paydays)
		if err != nil {
			return usagef("--paydays %q: %v", f.paydays, err)
		}
		cal.Paydays = days
	}
	hs, err := scale.ParseHolidays(f.holidays)
	if err != nil {
		return usagef("--holidays %q: %v", f.holidays, err)
	}
	cal.Holidays = append(cal.Holidays, hs...)
	f.cfg.Calendar = cal
	return nil
}

// writeSurgeTable writes res's surges and totals as a Markdown table, each surge beside
// the reactive policy's violation minutes for it when there is a reactive run.
func writeSurgeTable(w io.Writer, res scale.Result, reactive *scale.Result) error {
	var b strings.Builder
	b.WriteString("| surge | until | peak | repeat | capacity ready | lead | violation min |")
	if reactive != nil {
		b.WriteString(" reactive violation min |")
	}
	b.WriteString("\n|---|---|---:|---|---|---:|---:|")
	if reactive != nil {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for i, s := range res.Surges {
		ready, lead := "never", ""
		if s.ReadyAt != nil {
			ready, lead = s.ReadyAt.UTC().Format("15:04"), fmtLead(*s.LeadS)
		}
		repeat := "first"
		if s.Repeat {
			repeat = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f/s | %s | %s | %s | %g |", s.Start.UTC().Format("Mon 2006-01-02 15:04"),
			s.End.UTC().Format("15:04"), s.PeakRate, repeat, ready, lead, s.ViolationMinutes)
		if reactive != nil && i < len(reactive.Surges) {
			fmt.Fprintf(&b, " %g |", reactive.Surges[i].ViolationMinutes)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "| **all of the trace** | | | | | | %g |", res.SLOViolationMinutes)
	if reactive != nil {
		fmt.Fprintf(&b, " %g |", reactive.SLOViolationMinutes)
	}
	b.WriteString("\n\n")
	policy := res.Policy
	if res.Model != "" {
		policy += " (model " + res.Model + ")"
	}
	fmt.Fprintf(&b, "%s: %s worker-minutes", policy, groupDigits(res.WorkerMinutes))
	if reactive != nil {
		fmt.Fprintf(&b, "; reactive: %s (%+.1f%%)", groupDigits(reactive.WorkerMinutes),
			100*(res.WorkerMinutes/reactive.WorkerMinutes-1))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtLead writes how long before a surge its capacity was serving, or after it with a
// minus sign.
func fmtLead(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	if d < 0 {
		return "−" + (-d).String()
	}
	return d.String()
}

// groupDigits writes a whole number with its thousands separated by commas.
func groupDigits(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
